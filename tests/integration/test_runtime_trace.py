"""Runtime evidence end to end: instrumented builds of go_fixtures/leakysvc, traced with bpftrace.

1. Build leakysvc with REHAB_INSTRUMENT=1 REHAB_FIX=off (markers, no fixes), run it against a
   real PostgreSQL server and a loopback HTTP backend, attach `toolexec-rehab trace --pid`, drive
   the leaking endpoints: every LEAK(...) line is reported open, at the ID `check` gives it.
2. The same trace drives `fix --from-trace` (only confirmed sites change) and a build with
   `fix: confirmed`; rebuilt with fixes (and markers), the trace shows zero leaks.
3. A small program run under the tracer (`trace -- PROGRAM`) shows *os.File values collected by
   the GC while open.

Needs root (or CAP_SYS_ADMIN), bpftrace and a mounted tracefs: elsewhere every test skips and
prints why. CI (.ci/run) installs bpftrace, mounts tracefs and runs the suite as root.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
N = 12  # requests per leaking endpoint
LEAK_LINE_RE = re.compile(r"^REHAB: leak (ast-node-[0-9a-f]{16}) (\S+):(\d+) ([a-z-]+) open=(\d+)", re.M)


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"rehab_rt_{name}", HERE / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


svc = _load("test_service")  # spawn(), get(): the service helpers


@pytest.fixture(scope="module")
def svc_copy(sources):
    return sources.copy("leakysvc")


@pytest.fixture(scope="module")
def check_ids(svc_copy, rehab_bin):
    """(rule, absolute file, line) -> node id, from `check --format json` on the copy."""
    r = subprocess.run([str(rehab_bin), "check", "--format", "json", "./..."], cwd=svc_copy,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    out = {}
    for f in json.loads(r.stdout):
        out[(f["rule"], str((svc_copy / f["file"]).resolve()), f["line"])] = f["node_id"]
    return out


def build(go, src: Path, out: Path, env: dict) -> Path:
    go.run(["build", "-o", f"{out}/", "./cmd/leakysvc", "./cmd/backend"], cwd=src, mode="rehab", env=env)
    return out


def trace_service(rehab_bin, bindir: Path, workdir: Path, dsn: str, endpoints=svc.LEAKING) -> dict:
    """Run leakysvc from bindir, trace it by pid while N requests hit each endpoint; the trace JSON."""
    datafile = workdir / "data.txt"
    datafile.write_text("leakysvc data file\n" + "x" * 4096 + "\n")
    out = workdir / "trace.json"
    with svc.spawn([str(bindir / "backend"), "-addr", "127.0.0.1:0"], workdir, "backend") as backend, \
         svc.spawn([str(bindir / "leakysvc"), "-addr", "127.0.0.1:0", "-dsn", dsn,
                    "-backend", f"http://{backend.addr}", "-datafile", str(datafile)],
                   workdir, "leakysvc", env={"GOGC": "off"}) as s:
        errlog = workdir / "trace.stderr"
        with open(errlog, "wb") as ferr:
            tr = subprocess.Popen([str(rehab_bin), "trace", "--json", "-o", str(out), "--pid", str(s.popen.pid)],
                                  stdout=subprocess.PIPE, stderr=ferr, text=True)
        try:
            deadline = time.monotonic() + 150  # past trace's own 120s wait, so its message wins
            while "toolexec-rehab: tracing" not in errlog.read_text():
                assert tr.poll() is None, f"trace exited {tr.returncode}:\n{errlog.read_text()}"
                assert time.monotonic() < deadline, errlog.read_text()
                time.sleep(0.05)
            base = f"http://{s.addr}"
            for ep in endpoints:
                for _ in range(N):
                    svc.get(base + ep)
            svc.get(base + "/users/all")
            time.sleep(0.3)
            tr.send_signal(signal.SIGINT)
            tr.wait(timeout=60)
        finally:
            if tr.poll() is None:
                tr.kill()
                tr.wait()
        stderr = errlog.read_text()
        print(stderr)
        assert tr.returncode in (0, 1), stderr
        data = json.loads(out.read_text())
        data["_stderr"] = stderr
        return data


def plain(trace: dict) -> dict:
    """A deep copy of a trace without the test's own keys."""
    return json.loads(json.dumps({k: v for k, v in trace.items() if not k.startswith("_")}))


def by_id(trace: dict) -> dict:
    return {s["node_id"]: s for s in trace["sites"]}


@pytest.fixture(scope="module")
def observed(ebpf, go, rehab_bin, postgres, svc_copy, check_ids, tmp_path_factory):
    """The instrumented, unfixed build under trace."""
    work = tmp_path_factory.mktemp("observe")
    bindir = build(go, svc_copy, work / "bin", {"REHAB_INSTRUMENT": "1", "REHAB_FIX": "off"})
    return trace_service(rehab_bin, bindir, work, postgres.dsn)


def test_trace_reports_leaks_at_check_ids(observed, sources, svc_copy, check_ids):
    sites = by_id(observed)
    leak_lines = {m[1]: m for m in LEAK_LINE_RE.finditer(observed["_stderr"])}
    markers = sources.markers(svc_copy)
    assert markers, "the fixture lost its LEAK(...) markers"
    for rule, path, line in markers:
        nid = check_ids.get((rule, str(path), line))
        assert nid, f"check did not report {rule} at {path}:{line}"
        s = sites.get(nid)
        assert s is not None, f"{nid} ({rule} {path}:{line}) not in the trace: {sorted(sites)}"
        assert (s["rule"], s["line"], Path(s["file"]).resolve()) == (rule, line, path), s
        assert s["open"] >= 1 and s["acquired"] >= s["open"], s
        assert s["released"] == 0, s  # these handlers never close
        assert nid in observed["leaks"], observed["leaks"]
        m = leak_lines.get(nid)
        assert m is not None, observed["_stderr"]
        assert (m[4], int(m[3]), int(m[5])) == (rule, line, s["open"]), m[0]
    # body and file leak on every request (rows only until the pool is exhausted)
    for rule in ("body-not-closed", "file-not-closed"):
        s = next(x for x in observed["sites"] if x["rule"] == rule)
        assert s["acquired"] == N and s["open"] == N, s
    rows = next(x for x in observed["sites"] if x["rule"] == "rows-not-closed")
    # the pool (MAX_OPEN_CONNS) runs dry after that many leaked rows; later requests get 503 before querying
    assert rows["open"] == rows["acquired"] == svc.MAX_OPEN_CONNS, rows
    assert observed["sites"] and all(s["collected_open"] == 0 for s in observed["sites"]), observed["sites"]


def test_fix_from_trace_touches_only_confirmed_sites(observed, rehab_bin, svc_copy, tmp_path):
    # a trace that confirms only the file leak: the diff must fix that site and nothing else
    data = plain(observed)
    keep = next(s for s in data["sites"] if s["rule"] == "file-not-closed")
    for s in data["sites"]:
        if s is not keep:
            s["open"] = 0
            s["released"] = s["acquired"]
    data["leaks"] = [keep["node_id"]]
    partial = tmp_path / "partial.json"
    partial.write_text(json.dumps(data))
    r = subprocess.run([str(rehab_bin), "fix", "--diff", "--from-trace", str(partial), "./..."], cwd=svc_copy,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1, r.stderr
    added = [x for x in r.stdout.splitlines() if x.startswith("+") and not x.startswith("+++")]
    assert len(added) == 1 and "f.Close()" in added[0], r.stdout

    full = tmp_path / "full.json"
    full.write_text(json.dumps(plain(observed)))
    r = subprocess.run([str(rehab_bin), "fix", "--diff", "--from-trace", str(full), "./..."], cwd=svc_copy,
                       capture_output=True, text=True, timeout=300)
    added = [x for x in r.stdout.splitlines() if x.startswith("+") and not x.startswith("+++")]
    assert len(added) == 3, (r.stdout, observed["sites"])

    bad = tmp_path / "bad.json"
    bad.write_text('{"hello": 1}')
    r = subprocess.run([str(rehab_bin), "fix", "--diff", "--from-trace", str(bad), "./..."], cwd=svc_copy,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 2 and "not a toolexec-rehab trace" in r.stderr, r.stderr


def test_fixed_build_has_zero_leaks(observed, go, rehab_bin, postgres, svc_copy, tmp_path_factory):
    work = tmp_path_factory.mktemp("fixed")
    bindir = build(go, svc_copy, work / "bin", {"REHAB_INSTRUMENT": "1"})
    fixed = trace_service(rehab_bin, bindir, work, postgres.dsn)
    assert fixed["leaks"] == [], fixed["sites"]
    assert not LEAK_LINE_RE.search(fixed["_stderr"]), fixed["_stderr"]
    for s in fixed["sites"]:
        assert s["open"] == 0 and s["acquired"] == s["released"] >= 1, s
    # the same sites as in the unfixed build: fixes do not move node ids
    assert sorted(by_id(fixed)) == sorted(by_id(observed))


def test_build_policy_confirmed_fixes_only_confirmed(observed, go, rehab_bin, postgres, svc_copy, tmp_path_factory):
    work = tmp_path_factory.mktemp("confirmed")
    data = plain(observed)
    keep = next(s for s in data["sites"] if s["rule"] == "body-not-closed")
    for s in data["sites"]:
        if s is not keep:
            s["open"], s["released"] = 0, s["acquired"]
    tracefile = work / "trace.json"
    tracefile.write_text(json.dumps(data))
    bindir = build(go, svc_copy, work / "bin", {"REHAB_INSTRUMENT": "1", "REHAB_FIX": "confirmed",
                                                "REHAB_TRACE": str(tracefile)})
    after = by_id(trace_service(rehab_bin, bindir, work, postgres.dsn, endpoints=("/proxy", "/file")))
    body = after[keep["node_id"]]
    assert body["open"] == 0 and body["released"] == body["acquired"] == N, body
    f = next(s for s in after.values() if s["rule"] == "file-not-closed")
    assert f["open"] == N, f  # not confirmed by that trace: left as it was


GC_PROG = """package main

import (
	"fmt"
	"os"
	"runtime"
	"time"
)

func leak(name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	buf := make([]byte, 8)
	f.Read(buf)
}

func closed(name string) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	defer f.Close()
	buf := make([]byte, 8)
	f.Read(buf)
}

func shut(f *os.File) {
	f.Close() // inlined os.(*File).Close: no marker here, the tracer sees os.(*file).close
}

func sometimes(name string, i int) {
	f, err := os.Open(name)
	if err != nil {
		return
	}
	if i%2 == 0 {
		return
	}
	shut(f)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "forever" {
		for {
			leak(os.Args[0])
			time.Sleep(20 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
	for i := 0; i < 5; i++ {
		leak(os.Args[0])
		closed(os.Args[0])
	}
	for i := 0; i < 4; i++ {
		sometimes(os.Args[0], i)
	}
	for i := 0; i < 3; i++ {
		runtime.GC()
		time.Sleep(50 * time.Millisecond)
	}
	fmt.Printf("done %q\\n", os.Args[1:])
}
"""


def test_trace_program_counts_files_collected_while_open(ebpf, go, rehab_bin, tmp_path):
    src = tmp_path / "gcprog"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/gcprog\n\ngo 1.21\n")
    (src / "main.go").write_text(GC_PROG)
    go.run(["build", "-o", str(tmp_path / "gcprog.bin"), "."], cwd=src, mode="rehab",
           env={"REHAB_INSTRUMENT": "1", "REHAB_FIX": "off"})
    r = subprocess.run([str(rehab_bin), "trace", "--json", "-o", str(tmp_path / "t.json"), "--",
                        str(tmp_path / "gcprog.bin"), "a b", "it's", "*"], capture_output=True, text=True,
                       timeout=300)
    print(r.stderr)
    assert r.returncode == 1, r.stderr
    # the program's own output is untouched, and its arguments arrive as given
    assert r.stdout.strip() == 'done ["a b" "it\'s" "*"]', r.stdout
    sites = json.loads((tmp_path / "t.json").read_text())["sites"]
    opens = [i for i, x in enumerate(GC_PROG.splitlines(), 1) if x == "\tf, err := os.Open(name)"]
    # leak() and sometimes() are findings; closed() is fine statically
    assert sorted(x["line"] for x in sites) == [opens[0], opens[2]], sites
    s, some = sorted(sites, key=lambda x: x["line"])
    assert s["acquired"] == 5 and s["released"] == 0, s
    assert s["collected_open"] >= 1 and s["open"] == 5 - s["collected_open"], s
    # closed by a helper (os.(*file).close called from user code) vs collected (called by the runtime)
    assert some["acquired"] == 4 and some["released"] == 2, some
    assert some["collected_open"] >= 1 and some["open"] + some["collected_open"] == 2, some

    # --json on stdout: stdout is the JSON alone, the program's output moves to stderr
    r = subprocess.run([str(rehab_bin), "trace", "--json", "--", str(tmp_path / "gcprog.bin")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "done []" in r.stderr, r.stderr
    assert sorted(json.loads(r.stdout)["leaks"]) == sorted([s["node_id"], some["node_id"]])

    # --duration: the trace ends on time, reports, and does not leave the program running
    t0 = time.monotonic()
    r = subprocess.run([str(rehab_bin), "trace", "--json", "-o", str(tmp_path / "d.json"), "--duration", "1500ms",
                        "--", str(tmp_path / "gcprog.bin"), "forever"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 1 and "for 1.5s" in r.stderr, r.stderr
    assert time.monotonic() - t0 < 60
    forever = next(x for x in json.loads((tmp_path / "d.json").read_text())["sites"] if x["line"] == s["line"])
    assert forever["acquired"] >= 10 and forever["open"] + forever["collected_open"] == forever["acquired"], forever
    exe = str(tmp_path / "gcprog.bin")
    left = [p for p in os.listdir("/proc") if p.isdigit() and _exe(p) == exe]
    assert not left, f"the traced program is still running: pids {left}"


def _exe(pid: str) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return None


COVER_SRC = """package cov

import "os"

func Head(name string) (string, error) {
	f, err := os.Open(name)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 4)
	n, _ := f.Read(buf)
	return string(buf[:n]), nil
}
"""

COVER_TEST = """package cov

import "testing"

func TestHead(t *testing.T) {
	if _, err := Head("cov.go"); err != nil {
		t.Fatal(err)
	}
}
"""


def test_instrumented_cover_and_vet(go, rehab_bin, tmp_path):
    """Markers do not disturb `go test -cover` (positions in the profile stay the source's) or `go vet`;
    the test binary carries the markers. Needs no eBPF."""
    src = tmp_path / "cov"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/cov\n\ngo 1.21\n")
    (src / "cov.go").write_text(COVER_SRC)
    (src / "cov_test.go").write_text(COVER_TEST)
    env = {"REHAB_INSTRUMENT": "1", "REHAB_FIX": "off"}
    prof = tmp_path / "c.out"
    r = go.run(["test", "-count=1", "-cover", f"-coverprofile={prof}", "."], cwd=src, mode="rehab", env=env)
    assert "coverage: 83.3% of statements" in r.stdout, r.stdout
    plain = tmp_path / "plain.out"
    go.run(["test", "-count=1", "-cover", f"-coverprofile={plain}", "."], cwd=src, mode="plain")
    assert prof.read_text() == plain.read_text()
    go.run(["vet", "./..."], cwd=src, mode="rehab", env=env)
    go.run(["test", "-c", "-cover", "-o", str(tmp_path / "cov.test"), "."], cwd=src, mode="rehab", env=env)
    nm = subprocess.run([str(go.exe), "tool", "nm", str(tmp_path / "cov.test")], capture_output=True, text=True)
    assert "example.com/cov._rehabAcquire" in nm.stdout and "example.com/cov._rehabRelease" in nm.stdout


def test_trace_counts_a_resource_of_the_users_catalogue(ebpf, go, rehab_bin, tmp_path):
    """A resource added with a resources.yaml entry and no code (the README's example) is
    traced: its acquisitions and its Release calls are counted at the ids check gives."""
    sys.path.insert(0, str(HERE.parent))
    from test_catalogue import _acme

    root, rules = _acme(tmp_path)
    env = {"REHAB_RULE_DIRS": str(rules)}
    r = subprocess.run([str(rehab_bin), "check", "--format", "json", "./..."], cwd=root, capture_output=True,
                       text=True, timeout=120, env={**os.environ, **env})
    ids = {f["line"]: f["node_id"] for f in json.loads(r.stdout) if f["rule"] == "resource-not-released"}
    assert sorted(ids) == [10, 18], r.stdout
    exe = tmp_path / "acme.bin"
    go.run(["build", "-o", str(exe), "."], cwd=root, mode="rehab",
           env={**env, "REHAB_INSTRUMENT": "1", "REHAB_FIX": "off"})
    r = subprocess.run([str(rehab_bin), "trace", "--json", "-o", str(tmp_path / "t.json"), "--", str(exe)],
                       capture_output=True, text=True, timeout=300, env={**os.environ, **env})
    print(r.stderr)
    assert r.returncode == 1 and r.stdout.strip() == "sum=180 held=15", r.stdout + r.stderr
    sites = {x["line"]: x for x in json.loads((tmp_path / "t.json").read_text())["sites"]}
    never, some = sites[10], sites[18]
    assert never["node_id"] == ids[10] and some["node_id"] == ids[18]
    # lookup never releases; lookupSome releases the odd ids' handles (5 of 10). A handle the
    # compiler keeps on the stack (acmedb.Open inlined) comes back at the same address, which
    # the tracer counts as the earlier one collected while open: open + collected_open.
    assert (never["acquired"], never["released"], never["open"] + never["collected_open"]) == (10, 0, 10), never
    assert (some["acquired"], some["released"], some["open"] + some["collected_open"]) == (10, 5, 5), some
