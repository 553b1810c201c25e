#!/usr/bin/env python3
"""The large application of `nox -s bench` (section "app", issue 18): a real application
module with 200 packages of its own, every one in scope.

    python tools/bench.py --only app          # as part of BENCH.md
    python tools/bench_app.py [--reps N]      # alone: prints the rows

Module: github.com/ethereum/go-ethereum@v1.17.10 (206 packages, ~10 MB of Go source of
its own, one cgo package), fetched from the proxy and copied to a scratch dir where it is
the main module. Measured, plain and rehab interleaved:

1. cold: fresh GOCACHE, `go build -a ./...` (std and every dependency recompiled); the
   rehab run has its own XDG_RUNTIME_DIR, so a compile server starts for it, and the peak
   RSS of that server (and of any request it forked) is polled from /proc;
2. warm: `go build ./...` after a comment is appended to a leaf package (nothing imports
   it), and after a new exported function is appended to the most imported package (its
   export data changes: every importer recompiles);
3. check: `toolexec-rehab check ./...` against a warm `go vet ./...` on the unchanged
   module (the result cache warm), after a one-file edit of the leaf, and against a warm
   golangci-lint (v2.15.0, installed from the proxy into the bench dir) running bodyclose,
   sqlclosecheck, errcheck and govet's lostcancel and httpresponse;
4. growth: `check` without its result cache on the first third, two thirds and all of
   the packages (sorted by import path): wall, CPU, packages and bytes.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

MODULE = "github.com/ethereum/go-ethereum@v1.17.10"
GOLANGCI = "github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0"
TARGETS = {"cold": 1.10, "warm": 1.05, "check": 0.5, "rss": 300.0, "repeat": 0.3, "edit": 0.5}
GOLANGCI_CONFIG = """\
version: "2"
linters:
  default: none
  enable: [bodyclose, sqlclosecheck, errcheck, govet]
  settings:
    govet:
      disable-all: true
      enable: [lostcancel, httpresponse]
issues:
  max-issues-per-linter: 0
  max-same-issues: 0
"""


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def med(xs):
    return statistics.median(xs) if xs else float("nan")


class RSSPoll:
    """Peak RSS (VmHWM, else VmRSS) of every process whose command line names toolexec-rehab,
    polled every 0.2 s while a build runs: the compile server and the requests it forks."""

    def __init__(self):
        self.peak_server = self.peak_any = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join()

    def _run(self):
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.2)

    def sample(self):
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
                if b"toolexec-rehab" not in cmd and b"toolexec_rehab" not in cmd:
                    continue
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            kb = 0
            for key in ("VmHWM:", "VmRSS:"):
                m = re.search(rf"(?m)^{key}\s+(\d+) kB", status)
                if m:
                    kb = max(kb, int(m.group(1)))
            self.peak_any = max(self.peak_any, kb)
            m = re.search(r"(?m)^PPid:\s+(\d+)", status)
            if m and m.group(1) == "1":  # the server: detached by a double fork (client._spawn)
                self.peak_server = max(self.peak_server, kb)


def growth_note(out) -> str:
    """Whether check's CPU grows linearly with the source: the marginal cost per MB between
    the three sizes, and the fixed part a line through the first and last point leaves."""
    (_, s1, _, c1), (_, s2, _, c2), (_, s3, _, c3) = out
    m1, m2 = (c2 - c1) / ((s2 - s1) / 1e6), (c3 - c2) / ((s3 - s2) / 1e6)
    slope = (c3 - c1) / ((s3 - s1) / 1e6)
    fixed = c1 - slope * s1 / 1e6
    close = abs(m1 - m2) <= 0.25 * max(m1, m2)
    return (f"Marginal CPU per MB: {m1:.2f} s (first to second third), {m2:.2f} s (second to last); a line "
            f"through the ends has {slope:.2f} s/MB and {fixed:.1f} s at zero. "
            + ("So the growth is linear in the source size, plus a fixed part: the interpreter and imports, the "
               "std and rule tables, and the module's packages and dependencies that resolution reads, each "
               "loaded once per process whatever the number of packages analyzed."
               if close else
               "The marginal cost is not constant: the packages of each third differ in how much of their "
               "code the rules look at (calls to resolve, functions with resources), not only in bytes."))


class App:
    def __init__(self, bench):
        self.b = bench
        self.rows: list[tuple] = []
        self.commands: list[str] = []
        self.notes: list[str] = []
        self.loads = [_load()]

    # ------------------------------------------------------------------ setup
    def sh(self, cmd, **kw):
        kw.setdefault("capture_output", True)
        kw.setdefault("text", True)
        return subprocess.run(cmd, **kw)

    def prepare(self) -> Path:
        b = self.b
        mod, _, ver = MODULE.partition("@")
        e = b.env("plain", b.base / "gocache-fetch")
        r = self.sh(["go", "mod", "download", "-json", MODULE], env=e, cwd=b.scratch)
        if r.returncode != 0:
            sys.exit(f"go mod download {MODULE} failed:\n{r.stdout}{r.stderr}")
        import json

        src = Path(json.loads(r.stdout)["Dir"])
        dst = b.scratch / "app"
        shutil.copytree(src, dst, symlinks=True)
        for p in dst.rglob("*"):
            if not p.is_symlink():
                p.chmod(0o755 if p.is_dir() else 0o644)
        r = self.sh(["go", "mod", "download"], env=e, cwd=dst)
        if r.returncode != 0:
            sys.exit(f"go mod download (deps of {MODULE}) failed:\n{r.stderr}")
        fmt = "{{.ImportPath}}\t{{.Dir}}\t{{.Name}}\t{{join .GoFiles \" \"}}\t{{join .CgoFiles \" \"}}\t{{join .Imports \" \"}}"
        r = self.sh(["go", "list", "-f", fmt, "./..."], env=e, cwd=dst)
        if r.returncode != 0:
            sys.exit(f"go list ./... failed:\n{r.stderr}")
        self.pkgs = []
        for line in r.stdout.splitlines():
            ip, d, name, gofiles, cgofiles, imports = (line.split("\t") + [""] * 6)[:6]
            files = [os.path.join(d, f) for f in (gofiles + " " + cgofiles).split()]
            self.pkgs.append({"path": ip, "dir": d, "name": name, "files": files,
                              "bytes": sum(os.path.getsize(f) for f in files), "imports": imports.split()})
        importers = {p["path"]: 0 for p in self.pkgs}
        for p in self.pkgs:
            for i in p["imports"]:
                if i in importers:
                    importers[i] += 1
        self.hub = max(self.pkgs, key=lambda p: (importers[p["path"]], p["path"]))
        self.hub_importers = importers[self.hub["path"]]
        leaves = [p for p in self.pkgs if importers[p["path"]] == 0 and p["files"]]
        self.leaf = max(leaves, key=lambda p: (p["bytes"], p["path"]))
        total = sum(p["bytes"] for p in self.pkgs)
        self.notes.append(f"app: `{MODULE}` as the main module: {len(self.pkgs)} packages of its own in scope "
                          f"({total / 1e6:.1f} MB of Go source in the files `go list` selects, tests not counted); "
                          f"leaf edited: `{self._rel(self.leaf)}` (no importer, {self.leaf['bytes'] // 1024} KiB); "
                          f"widely imported: `{self._rel(self.hub)}` ({self.hub_importers} importers in the module)")
        self.commands.append(f"go mod download -json {MODULE}  # copied to a scratch dir as the main module; "
                             "go mod download")
        return dst

    def _rel(self, p) -> str:
        mod = MODULE.partition("@")[0]
        return "./" + p["path"][len(mod):].lstrip("/") if p["path"] != mod else "."

    def env(self, mode, gocache, **extra):
        return self.b.env(mode, gocache, **extra)

    def build(self, mod: Path, mode: str, gocache, args=(), **extra) -> tuple[float, float]:
        """(wall, CPU) of one go build ./... (CPU: the build's processes and the compile
        server's work for it, from REHAB_SERVER_STATS)."""
        stats = self.b.scratch / "app-server-cpu"
        stats.write_text("")
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        r = self.sh(["go", "build", *args, "./..."],
                    env=self.env(mode, gocache, REHAB_SERVER_STATS=str(stats), **extra), cwd=mod)
        dt = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode != 0:
            sys.exit(f"go build ({mode}) of the app failed:\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
        served = sum(float(x) for x in stats.read_text().split())
        return dt, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime) + served

    def _stop_servers(self, rundir: Path) -> None:
        self.b._stop_servers(rundir)

    # ------------------------------------------------------------------ 1. cold
    def _cold_rehab(self, mod: Path, xdg: Path) -> tuple[float, float, tuple[int, int]]:
        gc = Path(tempfile.mkdtemp(prefix="app-gocache-", dir=self.b.scratch))
        rundir = Path(tempfile.mkdtemp(prefix="app-run-", dir=self.b.scratch))
        rundir.chmod(0o700)
        try:
            with RSSPoll() as poll:
                dt, c = self.build(mod, "rehab", gc, ("-a",), XDG_RUNTIME_DIR=str(rundir), XDG_CACHE_HOME=str(xdg))
                poll.sample()
            self._stop_servers(rundir)
        finally:
            shutil.rmtree(gc, ignore_errors=True)
            shutil.rmtree(rundir, ignore_errors=True)
        return dt, c, (poll.peak_server, poll.peak_any)

    def cold(self, mod: Path, reps: int) -> None:
        wall = {"plain": [], "rehab": []}
        cpu = {"plain": [], "rehab": []}
        peak = []
        # the first build of this install fills our own caches (the dependencies' API, parsed
        # once per module@version and our code; the compiled rules), here a private
        # XDG_CACHE_HOME that starts empty: timed on its own, then "cold" is the build cache
        xdg = Path(tempfile.mkdtemp(prefix="app-xdg-", dir=self.b.scratch))
        first, first_cpu, _ = self._cold_rehab(mod, xdg)
        log(f"app cold rehab, first after install: {first:.1f} s, CPU {first_cpu:.1f} s")
        for i in range(reps):
            for mode in (("plain", "rehab") if i % 2 == 0 else ("rehab", "plain")):
                if mode == "rehab":
                    dt, c, pk = self._cold_rehab(mod, xdg)
                    peak.append(pk)
                else:
                    gc = Path(tempfile.mkdtemp(prefix="app-gocache-", dir=self.b.scratch))
                    dt, c = self.build(mod, mode, gc, ("-a",))
                    shutil.rmtree(gc, ignore_errors=True)
                wall[mode].append(dt)
                cpu[mode].append(c)
                log(f"app cold {mode} #{i + 1}: {dt:.1f} s, CPU {c:.1f} s")
        p, r = med(wall["plain"]), med(wall["rehab"])
        self.rows.append(("app: cold build", f"fresh GOCACHE, go build -a ./... (std and all dependencies), {reps} "
                          f"pair(s), after a first build of this install", f"plain {p:.0f} s, rehab {r:.0f} s: "
                          f"**{r / p:.2f}x**", f"<= {TARGETS['cold']}x", "yes" if r / p <= TARGETS["cold"] else "NO"))
        cp, cr = med(cpu["plain"]), med(cpu["rehab"])
        self.rows.append(("app: cold build", "the same, CPU time (build's processes + compile server's work)",
                          f"plain {cp:.0f} s, rehab {cr:.0f} s: {cr / cp:.2f}x", "", ""))
        self.rows.append(("app: cold build", "the first build after installing (our caches empty: every dependency "
                          "package's API parsed from the module cache, the rules compiled)",
                          f"rehab {first:.0f} s: {first / p:.2f}x of plain (CPU {first_cpu:.0f} s: "
                          f"{first_cpu / cp:.2f}x)", "", ""))
        server = max(s for s, _ in peak) / 1024
        anyp = max(a for _, a in peak) / 1024
        self.rows.append(("app: compile server RSS", "peak during the rehab cold build (VmHWM of the server, polled "
                          "every 0.2 s; its forked requests and compiles' Python clients in the next cell)",
                          f"server {server:.0f} MB (any rehab process: {anyp:.0f} MB)", f"<= {TARGETS['rss']:.0f} MB",
                          "yes" if server <= TARGETS["rss"] else "NO"))
        self.commands.append("GOCACHE=$(mktemp -d) go build -a ./...   vs   GOCACHE=$(mktemp -d) "
                             "XDG_RUNTIME_DIR=$(mktemp -d) GOFLAGS=-toolexec=toolexec-rehab go build -a ./...   (app)")

    # ------------------------------------------------------------------ 2. warm
    def warm(self, mod: Path, reps: int) -> None:
        gc = self.b.scratch / "app-gocache-warm"
        for mode in ("plain", "rehab"):
            self.build(mod, mode, gc)
        cases = (("leaf", self.leaf, "comment"), ("hub", self.hub, "func"))
        k = 0
        for label, pkg, how in cases:
            target = Path(max((f for f in pkg["files"] if f.endswith(".go")), key=os.path.getsize))
            orig = target.read_bytes()
            wall = {"plain": [], "rehab": []}
            cpu = {"plain": [], "rehab": []}
            try:
                for i in range(reps):
                    for mode in (("plain", "rehab") if i % 2 == 0 else ("rehab", "plain")):
                        k += 1
                        extra = (f"\n// bench edit {k}\n" if how == "comment" else
                                 f"\n// BenchEdit{k} is a bench edit.\nfunc BenchEdit{k}() int {{ return {k} }}\n")
                        target.write_bytes(orig + extra.encode())
                        dt, c = self.build(mod, mode, gc)
                        wall[mode].append(dt)
                        cpu[mode].append(c)
                        log(f"app warm {label} {mode} #{len(wall[mode])}: {dt:.2f} s, CPU {c:.2f} s")
            finally:
                target.write_bytes(orig)
            p, r = med(wall["plain"]), med(wall["rehab"])
            what = ("append a comment to the leaf package's largest file" if how == "comment" else
                    f"append an exported func to the most imported package ({self.hub_importers} importers)")
            self.rows.append((f"app: warm rebuild ({label})", f"{what}: {Path(target).relative_to(mod)}, "
                              f"go build ./..., {reps} runs each",
                              f"plain {p:.2f} s, rehab {r:.2f} s: **{r / p:.2f}x**", f"<= {TARGETS['warm']}x",
                              "yes" if r / p <= TARGETS["warm"] else "NO"))
            cp, cr = med(cpu["plain"]), med(cpu["rehab"])
            self.rows.append((f"app: warm rebuild ({label})", "the same, CPU time",
                              f"plain {cp:.2f} s, rehab {cr:.2f} s: {cr / cp:.2f}x", "", ""))
        self.commands.append("app: echo '// bench edit N' >> <leaf file>  or  echo 'func BenchEditN() int "
                             "{...}' >> <hub file>; go build ./...   (warm private GOCACHE, plain/rehab alternating)")

    # ------------------------------------------------------------------ 3. check
    def golangci(self) -> str | None:
        exe = self.b.base / "bin" / "golangci-lint"
        if not exe.exists():
            e = self.env("plain", self.b.base / "gocache-tools", GOBIN=str(exe.parent), GOFLAGS="")
            r = self.sh(["go", "install", GOLANGCI], env=e, cwd=self.b.scratch)
            if r.returncode != 0:
                self.notes.append(f"golangci-lint could not be installed: {r.stderr.strip()[:300]}")
                return None
        return str(exe)

    def _timed(self, cmd, env, cwd) -> float:
        t = time.perf_counter()
        r = self.sh(cmd, env=env, cwd=cwd)
        dt = time.perf_counter() - t
        if r.returncode not in (0, 1, 3) or (r.returncode == 2 and "toolexec-rehab" in cmd[0]):
            sys.exit(f"{' '.join(cmd)} failed ({r.returncode}):\n{r.stdout[-1500:]}{r.stderr[-3000:]}")
        return dt

    def check(self, mod: Path, reps: int) -> None:
        gc = self.b.scratch / "app-gocache-warm"
        xdg = self.b.scratch / "app-xdg-cache"
        xdg.mkdir(mode=0o700, exist_ok=True)
        plain = self.env("plain", gc)
        rehab = self.env("plain", gc, XDG_CACHE_HOME=str(xdg))
        vet = ["go", "vet", "./..."]
        chk = [str(self.b.rehab), "check", "./..."]
        lint = self.golangci()
        cfg = self.b.scratch / "golangci.yml"
        cfg.write_text(GOLANGCI_CONFIG)
        lintcmd = [lint, "run", "-c", str(cfg), "--timeout", "30m", "./..."] if lint else None
        lintenv = {**plain, "GOLANGCI_LINT_CACHE": str(self.b.scratch / "golangci-cache")}
        self._timed(vet, plain, mod)  # warm: vet's results are cached by cmd/go from here on
        self._timed(chk, rehab, mod)  # fills the result cache
        if lintcmd:
            self._timed(lintcmd, lintenv, mod)
        t = {"vet": [], "check": [], "lint": [], "check-off": []}
        for i in range(reps):
            order = ("vet", "check", "lint") if i % 2 == 0 else ("lint", "check", "vet")
            for kind in order:
                if kind == "vet":
                    t["vet"].append(self._timed(vet, plain, mod))
                elif kind == "check":
                    t["check"].append(self._timed(chk, rehab, mod))
                elif lintcmd:
                    t["lint"].append(self._timed(lintcmd, lintenv, mod))
        t["check-off"].append(self._timed(chk, {**rehab, "REHAB_RESULT_CACHE": "off"}, mod))
        v, c = med(t["vet"]), med(t["check"])
        self.rows.append(("app: check vs go vet", f"unchanged module, warm caches (vet's results cached by cmd/go, "
                          f"check's result cache), {reps} runs each", f"vet {v:.2f} s, check {c:.2f} s: **{c / v:.2f}x**",
                          f"<= {TARGETS['repeat']}x", "yes" if c / v <= TARGETS["repeat"] else "NO"))
        if t["lint"]:
            lt = med(t["lint"])
            self.rows.append(("app: check vs golangci-lint", "the same, golangci-lint v2.15.0 (bodyclose, "
                              "sqlclosecheck, errcheck, govet lostcancel+httpresponse) with its cache warm",
                              f"golangci-lint {lt:.2f} s, check {c:.2f} s: {c / lt:.2f}x", "", ""))
        co = t["check-off"][0]
        self.rows.append(("app: check vs go vet", "check without its result cache (REHAB_RESULT_CACHE=off), one run "
                          "(the module unchanged)", f"check {co:.1f} s: {co / v:.2f}x of the warm vet", "", ""))
        # a one-file edit of the leaf: vet re-vets that package, check re-analyzes it
        target = Path(max((f for f in self.leaf["files"] if f.endswith(".go")), key=os.path.getsize))
        orig = target.read_bytes()
        te = {"vet": [], "check": [], "lint": []}
        try:
            for i in range(reps):
                for kind in (("vet", "check") if i % 2 == 0 else ("check", "vet")):
                    target.write_bytes(orig + f"\n// edit {kind} {i}\n".encode())
                    te[kind].append(self._timed(vet if kind == "vet" else chk, plain if kind == "vet" else rehab, mod))
            if lintcmd:
                for i in range(max(1, reps // 2)):
                    target.write_bytes(orig + f"\n// edit lint {i}\n".encode())
                    te["lint"].append(self._timed(lintcmd, lintenv, mod))
        finally:
            target.write_bytes(orig)
        v, c = med(te["vet"]), med(te["check"])
        self.rows.append(("app: check vs go vet", f"after a one-file edit (a comment appended to "
                          f"{target.relative_to(mod)}: vet and check redo that package), {reps} runs each",
                          f"vet {v:.2f} s, check {c:.2f} s: **{c / v:.2f}x**", f"<= {TARGETS['edit']}x",
                          "yes" if c / v <= TARGETS["edit"] else "NO"))
        if te["lint"]:
            self.rows.append(("app: check vs golangci-lint", "the same one-file edit",
                              f"golangci-lint {med(te['lint']):.2f} s, check {c:.2f} s: {c / med(te['lint']):.2f}x",
                              "", ""))
        self.commands.append("app: go vet ./...   vs   toolexec-rehab check ./...   vs   golangci-lint run -c "
                             "golangci.yml ./...   (warm; then after `echo '// edit' >> <leaf file>`)")

    # ------------------------------------------------------------------ 4. growth
    def growth(self, mod: Path) -> None:
        pkgs = sorted(self.pkgs, key=lambda p: p["path"])
        n = len(pkgs)
        out = []
        for frac in (1 / 3, 2 / 3, 1.0):
            part = pkgs[: max(1, round(n * frac))]
            dirs = sorted({os.path.relpath(p["dir"], mod) for p in part})
            args = ["./" + d if d != "." else "." for d in dirs]
            # in its own process (a compile server's work is not this process's child CPU)
            env = self.env("plain", self.b.scratch / "app-gocache-warm", REHAB_RESULT_CACHE="off", REHAB_SERVER="off")
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t = time.perf_counter()
            r = self.sh([str(self.b.rehab), "check", *args], env=env, cwd=mod)
            dt = time.perf_counter() - t
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            if r.returncode not in (0, 1):
                sys.exit(f"check of {len(args)} dirs failed:\n{r.stderr[-3000:]}")
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            size = sum(os.path.getsize(os.path.join(mod, d, f)) for d in dirs
                       for f in os.listdir(os.path.join(mod, d)) if f.endswith(".go"))
            out.append((len(part), size, dt, cpu))
        rows = [f"| {k} | {s / 1e6:.1f} | {dt:.1f} | {c:.1f} | {c / (s / 1e6):.2f} |" for k, s, dt, c in out]
        self.growth_table = ["| packages | MB of Go source (tests included) | check wall (s) | check CPU (s) | "
                             "CPU s per MB |", "|---|---|---|---|---|", *rows]
        self.growth_note = growth_note(out)
        self.commands.append("app: REHAB_RESULT_CACHE=off toolexec-rehab check <the first third / two thirds / "
                             "all of the package dirs>")

    def run(self, reps_cold: int, reps: int, skip=()) -> None:
        mod = self.prepare()
        if "cold" not in skip:
            self.cold(mod, reps_cold)
        if "warm" not in skip:
            self.warm(mod, reps)
        if "check" not in skip:
            self.check(mod, reps)
        if "growth" not in skip:
            self.growth(mod)
        self.loads.append(_load())


def main() -> int:
    import argparse

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import bench as B

    ap = argparse.ArgumentParser()
    ap.add_argument("--rehab", default=shutil.which("toolexec-rehab") or "toolexec-rehab")
    ap.add_argument("--module", default="github.com/spf13/cobra@v1.8.1")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--cold-reps", type=int, default=1)
    ap.add_argument("--skip", default="")
    args = ap.parse_args()
    b = B.Bench(args)
    app = App(b)
    app.run(args.cold_reps, args.reps, set(filter(None, args.skip.split(","))))
    for row in app.rows:
        print("| " + " | ".join(row) + " |")
    for line in getattr(app, "growth_table", []):
        print(line)
    for n in app.notes:
        print("-", n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
