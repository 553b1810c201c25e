#!/usr/bin/env python3
"""Build throughput against -p, plain and through toolexec-rehab, and two concurrent builds
sharing one compile server (issue 18, item 5). Prints a markdown table.

The module is spf13/cobra (two packages, cobra and cobra/doc, ~9k lines; its dependencies
pflag, go-md2man, blackfriday and yaml.v3), copied from the module cache into a scratch
directory, so that it is the main module (in scope for rehab, as a user's code is). Each
row is `go build -a -p N ./...` (everything recompiled, std included: 60-odd compiles):

- plain: no -toolexec;
- rehab: -toolexec=toolexec-rehab, the default scope: the two cobra packages analyzed (served
  by the compile server), every other compile sent straight to the compiler by the launcher;
- rehab, scope=all: REHAB_SCOPE=all, every package, std included, analyzed by the server:
  the server carries the whole build, the test of its concurrency.

"served" counts the compiles the server answered (REHAB_SERVER_TRACE): all that reached it.
"CPU s" is the CPU time of the build's processes plus the server's for its requests
(REHAB_SERVER_STATS): on a shared machine the wall times move with the load, the CPU less.
The server is started (and warmed) by an untimed build before each rehab series, in a
runtime dir of this run's own. The last rows: two copies of the module built at the same
time (`-p 2` each, one server), against the same two builds one after the other.

    python tools/bench_parallel.py [--jobs 1,2,8] [--repeat 1] [--module DIR]

Needs the module in the module cache (`go mod download -json github.com/spf13/cobra@v1.8.1`
and its requirements) or --module DIR (a Go module of your own); GOPROXY=off is used.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

COBRA = "github.com/spf13/cobra@v1.8.1"


def _launcher() -> str:
    p = Path(sys.executable).parent / "toolexec-rehab"
    if not p.is_file():
        sys.exit(f"no toolexec-rehab next to {sys.executable}: run this with the venv's python")
    return str(p)


def _module_copy(scratch: Path, src: Path | None, name: str) -> Path:
    if src is None:
        r = subprocess.run(["go", "mod", "download", "-json", COBRA], capture_output=True, text=True,
                           env={**os.environ, "GOFLAGS": "-mod=mod"})
        if r.returncode != 0:
            sys.exit(f"go mod download {COBRA}: {r.stderr.strip()}")
        src = Path(json.loads(r.stdout)["Dir"])
    dst = scratch / name
    shutil.copytree(src, dst)
    for d, dirs, files in os.walk(dst):
        for n in [*dirs, *files]:
            p = os.path.join(d, n)
            os.chmod(p, os.stat(p).st_mode | 0o200)
    return dst


class Bench:
    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.rt = scratch / "run"
        self.rt.mkdir(mode=0o700)
        self.n = 0
        self.base = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_") and k != "GOFLAGS"}
        self.base.update({"GOTOOLCHAIN": "local", "GOPROXY": "off", "GOFLAGS": "-mod=mod -buildvcs=false",
                          "XDG_RUNTIME_DIR": str(self.rt), "XDG_CACHE_HOME": str(scratch / "cache"),
                          "REHAB_SERVER_IDLE": "600"})

    def env(self, mode: str) -> tuple[dict, Path | None]:
        env = dict(self.base)
        if mode == "plain":
            return env, None
        self.n += 1
        trace = self.scratch / f"trace{self.n}"
        env["GOFLAGS"] += f" -toolexec={_launcher()}"
        env["REHAB_SERVER_TRACE"] = str(trace)
        env["REHAB_SERVER_STATS"] = str(trace) + ".cpu"  # CPU of each served request (server.py)
        if mode == "rehab-all":
            env["REHAB_SCOPE"] = "all"
        return env, trace

    def build(self, mod: Path, mode: str, jobs: int, wait: bool = True):
        env, trace = self.env(mode)
        p = subprocess.Popen(["go", "build", "-a", "-p", str(jobs), "-o", os.devnull, "./..."], cwd=mod, env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if not wait:
            return p, trace
        return self.finish(p, trace)

    @staticmethod
    def finish(p, trace) -> tuple[int, float]:
        """(compiles served, CPU seconds the server spent on them)."""
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"build failed:\n{err}")
        if trace is None or not trace.exists():
            return 0, 0.0
        stats = Path(str(trace) + ".cpu")
        time.sleep(0.2)  # a request's child writes its line after the answer
        cpu = sum(float(x) for x in stats.read_text().split()) if stats.exists() else 0.0
        return len(trace.read_text().splitlines()), cpu

    def timed(self, mod: Path, mode: str, jobs: int, repeat: int) -> tuple[float, float, int]:
        """(best wall seconds, its CPU seconds: the build's processes and the server's, served)."""
        best = (float("inf"), 0.0, 0)
        for _ in range(repeat):
            c0, t0 = _children_cpu(), time.monotonic()
            served, scpu = self.build(mod, mode, jobs)
            wall = time.monotonic() - t0
            if wall < best[0]:
                best = (wall, _children_cpu() - c0 + scpu, served)
        return best

    def concurrent(self, mods: list[Path], mode: str, jobs: int) -> tuple[float, float, int]:
        c0, t0 = _children_cpu(), time.monotonic()
        running = [self.build(m, mode, jobs, wait=False) for m in mods]
        done = [self.finish(p, t) for p, t in running]
        wall = time.monotonic() - t0
        return wall, _children_cpu() - c0 + sum(c for _, c in done), sum(s for s, _ in done)

    def sequential(self, mods: list[Path], mode: str, jobs: int) -> tuple[float, float, int]:
        c0, t0 = _children_cpu(), time.monotonic()
        done = [self.build(m, mode, jobs) for m in mods]
        wall = time.monotonic() - t0
        return wall, _children_cpu() - c0 + sum(c for _, c in done), sum(s for s, _ in done)


def _children_cpu() -> float:
    import resource

    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def _stop_servers(rt: Path) -> None:
    """The compile servers this run started: the processes holding a socket in its runtime dir."""
    socks = {str(p) for p in rt.glob("*/srv-*.sock")}
    inodes = set()
    with open("/proc/net/unix") as fh:
        for line in fh:
            f = line.split()
            if len(f) >= 8 and f[-1] in socks:
                inodes.add(f"socket:[{f[6]}]")
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            if any(os.readlink(f"/proc/{d}/fd/{fd}") in inodes for fd in os.listdir(f"/proc/{d}/fd")):
                os.kill(int(d), 15)
        except OSError:
            continue


def _compiles(mod: Path, env: dict) -> int:
    r = subprocess.run(["go", "list", "-deps", "-f", "{{if .GoFiles}}{{.ImportPath}}{{end}}", "./..."], cwd=mod,
                       env=env, capture_output=True, text=True, check=True)
    return len([x for x in r.stdout.splitlines() if x.strip()])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", default="1,2,8", help="the -p values (default 1,2,8)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per row; the best is shown (default 1)")
    ap.add_argument("--module", type=Path, help="a Go module to build instead of cobra")
    ap.add_argument("--modes", default="plain,rehab,rehab-all", help="plain,rehab,rehab-all")
    args = ap.parse_args()
    jobs = [int(x) for x in args.jobs.split(",") if x]
    modes = [x for x in args.modes.split(",") if x]

    scratch = Path(tempfile.mkdtemp(prefix="rehab-bench-parallel-"))
    try:
        b = Bench(scratch)
        mods = [_module_copy(scratch, args.module, f"m{i}") for i in range(2)]
        n = _compiles(mods[0], b.base)
        rows = []
        for mode in modes:
            if mode != "plain":
                b.build(mods[0], mode, 2)  # untimed: starts the server, warms its caches
                time.sleep(1)
            base = None
            for j in jobs:
                secs, cpu, served = b.timed(mods[0], mode, j, args.repeat)
                base = base or secs
                rows.append((mode, f"-p {j}", secs, cpu, n / secs, base / secs, served))
        for mode in modes:
            seq, seq_cpu, seq_served = b.sequential(mods, mode, 2)
            conc, cpu, served = b.concurrent(mods, mode, 2)
            rows.append((mode, "2 builds (-p 2), one after the other", seq, seq_cpu, 2 * n / seq, 1.0, seq_served))
            rows.append((mode, "2 builds (-p 2), at the same time", conc, cpu, 2 * n / conc, seq / conc, served))
        print(f"`go build -a ./...` of {args.module or COBRA} ({n} packages compiled per build), "
              f"{os.cpu_count()} CPUs, best of {args.repeat}\n")
        print("| mode | build | wall s | CPU s | packages/s | speed-up | served |")
        print("|---|---|---:|---:|---:|---:|---:|")
        for mode, what, secs, cpu, rate, up, served in rows:
            print(f"| {mode} | {what} | {secs:.2f} | {cpu:.1f} | {rate:.1f} | {up:.2f}x | "
                  f"{served if mode != 'plain' else '-'} |")
        print(f"\nload average at the end: {' '.join(open('/proc/loadavg').read().split()[:3])} "
              "(other processes on the machine slow the wall times; CPU s does not count them)")
    finally:
        _stop_servers(scratch / "run")
        shutil.rmtree(scratch, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
