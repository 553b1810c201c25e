"""Runtime evidence, the parts that need no eBPF: marker insertion, the marker file, trace reports,
the tracer's preflight checks and its clear exit-2 errors. The traced end-to-end runs are in
tests/integration/test_runtime_trace.py."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest
from helpers import BIN, go_env, rehab

from toolexec_rehab.golang.package import Package, load_file
from toolexec_rehab.runtime import instrument as I
from toolexec_rehab.runtime import report as R
from toolexec_rehab.runtime import trace as T

SRC = b"""package svc

import (
	"database/sql"
	"net/http"
	"os"
)

func rows(db *sql.DB) (int, error) {
	r, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	r.Next()
	return 1, nil
}

func body(c *http.Client) error {
	resp, err := c.Get("http://x")
	if err != nil {
		return err
	}
	if resp.StatusCode != 200 {
		resp.Body.Close()
		return nil
	}
	return nil
}

func file(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 8)
	if _, err := f.Read(buf); err != nil {
		defer f.Close()
		return nil, err
	}
	return buf, nil
}

func fileErr(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return nil
}
"""


@pytest.fixture(scope="module")
def instrumented(tmp_path_factory, analyzer):
    d = tmp_path_factory.mktemp("instr")
    (d / "go.mod").write_text("module example.com/svc\n\ngo 1.21\n")
    path = d / "svc.go"
    path.write_bytes(SRC)
    gf = load_file(str(path))
    findings = analyzer.analyze(Package([gf]))
    out = I.instrument_file(gf, findings)
    from toolexec_rehab.rewrite import edits as E

    new = E.apply(gf.src, out.edits)
    return d, gf, findings, out, new


def test_markers_keep_every_line_and_use_check_ids(instrumented):
    d, gf, findings, out, new = instrumented
    assert new.count(b"\n") == SRC.count(b"\n")
    tracked = {f.node_id: f for f in findings if f.rule in I.TRACKED_RULES}
    assert {s.node_id for s in out.sites} == set(tracked), (out.sites, findings)
    assert len(out.sites) == 4  # fileErr leaks f when Sync fails
    lines = new.decode().splitlines()
    for s in out.sites:
        f = tracked[s.node_id]
        assert s.line == f.line and s.rule == f.rule and s.file == str(d / "svc.go")
        # the acquisition line carries the acquire marker with the node id's 64 bits
        assert f"{I.ACQUIRE}(0x{s.node_id[-16:]}" in lines[s.line - 1], lines[s.line - 1]
        assert s.id64 == int(s.node_id[-16:], 16)
    src_lines = SRC.decode().splitlines()
    changed = [i for i, (a, b) in enumerate(zip(src_lines, lines, strict=True)) if a != b]
    # acquisitions (4) and closes: resp.Body.Close(), the deferred f.Close(), `if err := f.Close()`
    assert len(changed) == 7, [lines[i] for i in changed]
    assert any(x.strip().startswith(f"{I.RELEASE}(") and x.strip().endswith("if err := f.Close(); err != nil {")
               for x in lines), lines
    assert any(x.strip().startswith(f"defer {I.RELEASE}(") and x.strip().endswith("defer f.Close()")
               for x in lines), lines
    assert any(f"if resp != nil {{ {I.ACQUIRE}(" in x for x in lines), lines


def test_instrumented_package_builds_and_vets(instrumented, tmp_path):
    if not shutil.which("go"):
        pytest.skip("go not installed")
    d, gf, findings, out, new = instrumented
    pkg = tmp_path / "svc"
    pkg.mkdir()
    (pkg / "go.mod").write_text("module example.com/svc\n\ngo 1.21\n")
    (pkg / "svc.go").write_bytes(new)
    (pkg / I.MARKER_FILE).write_bytes(I.marker_file("svc", out.sites))
    for cmd in (["go", "build", "./..."], ["go", "vet", "./..."]):
        r = subprocess.run(cmd, cwd=pkg, env=go_env(), capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, (cmd, r.stdout + r.stderr)
    # the table the tracer reads back out of a binary
    tables = I.parse_sites_tables(b"junk" + (pkg / I.MARKER_FILE).read_bytes().replace(b'\\"', b'"') + b"junk")
    assert set(tables) == {s.node_id for s in out.sites}


def test_marker_file_needs_no_imports():
    text = I.marker_file("p", [I.Site("ast-node-00000000000000ff", "rows-not-closed", "/a.go", 3)]).decode()
    assert "import" not in text and "//go:noinline" in text and "\npackage p\n" in text
    assert f"func {I.ACQUIRE}(id uint64, p interface{{}})" in text  # non-generic; pre-1.18 `any`-free


def _trace(tmp_path, sites, name="t.json"):
    p = tmp_path / name
    p.write_text(json.dumps(R.to_json(sites, "/bin/x", None, 1.0)))
    return str(p)


def test_report_round_trip_and_confirmed_ids(tmp_path):
    sites = [R.SiteCount("ast-node-0000000000000001", "rows-not-closed", "/a.go", 3, 5, 5, 0, 0),
             R.SiteCount("ast-node-0000000000000002", "file-not-closed", "/a.go", 9, 5, 1, 2, 2),
             R.SiteCount("ast-node-0000000000000003", "file-not-closed", "/b.go", 4, 5, 0, 0, 5)]
    path = _trace(tmp_path, sites)
    assert R.load(path) == sites
    assert R.confirmed_ids(path) == {"ast-node-0000000000000002", "ast-node-0000000000000003"}
    lines = R.leak_lines(sites)
    assert lines[0] == "REHAB: leak ast-node-0000000000000002 /a.go:9 file-not-closed open=2 collected_open=2"
    assert len(lines) == 2
    tab = R.table(sites).splitlines()
    assert tab[0].split() == ["SITE", "RULE", "LOCATION", "ACQUIRED", "RELEASED", "OPEN", "COLLECTED_OPEN"]
    assert tab[2].split() == ["ast-node-0000000000000002", "file-not-closed", "/a.go:9", "5", "1", "2", "2"]


@pytest.mark.parametrize("content, msg", [
    ("not json", "not JSON"),
    ('{"a": 1}', "not a toolexec-rehab trace"),
    ('{"format": "toolexec-rehab-trace", "version": 9, "sites": []}', "trace version 9"),
    ('{"format": "toolexec-rehab-trace", "version": 1, "sites": [{"node_id": "x"}]}', "site 0"),
    ('{"format": "toolexec-rehab-trace", "version": 1, "sites": [{"node_id": "ast-node-1", "rule": "r",'
     ' "file": "f", "line": 1, "acquired": 1, "released": 0, "open": 1}]}', "bad node_id"),
])
def test_bad_trace_files_are_clear_errors(tmp_path, content, msg):
    p = tmp_path / "bad.json"
    p.write_text(content)
    with pytest.raises(ValueError, match=msg):
        R.confirmed_ids(str(p))
    assert R.confirmed_ids_or_none(str(p)) is None
    (tmp_path / "a.go").write_text("package a\n")
    r = rehab("fix", "--diff", "--from-trace", str(p), str(tmp_path))
    assert r.returncode == 2 and msg in r.stderr and str(p) in r.stderr, r.stderr


def test_preflight_errors():
    with pytest.raises(T.TraceError, match="Linux on amd64 or arm64.*Darwin"):
        T.check_platform("Darwin", "arm64")
    with pytest.raises(T.TraceError, match="riscv64"):
        T.check_platform("Linux", "riscv64")
    assert T.check_platform("Linux", "aarch64") == "aarch64"
    with pytest.raises(T.TraceError, match=r"mount -t tracefs nodev /sys/kernel/tracing"):
        T.check_tracefs(("/nonexistent/tracing",))
    for text, ms in (("10", 10_000), ("250ms", 250), ("2m", 120_000), ("1.5s", 1500)):
        assert T.parse_duration(text) == ms
    with pytest.raises(T.TraceError, match="--duration"):
        T.parse_duration("soon")


def test_no_cap_sys_admin(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tx\nCapEff:\t00000000a80425fb\n")  # docker's default set: no CAP_SYS_ADMIN
    with pytest.raises(T.TraceError, match="root without CAP_SYS_ADMIN"):
        T.check_privileges(str(status), euid=0)
    with pytest.raises(T.TraceError, match=r"needs root or CAP_SYS_ADMIN .*\(not root\)"):
        T.check_privileges(str(status), euid=1000)
    status.write_text("CapEff:\t000001ffffffffff\n")
    T.check_privileges(str(status))


def test_trace_cli_errors_exit_2(tmp_path):
    r = rehab("trace", "--json")
    assert r.returncode == 2 and "exactly one of --pid PID or -- PROGRAM" in r.stderr, r.stderr
    r = rehab("trace", "--pid", "1", "--", "/bin/true")
    assert r.returncode == 2 and "exactly one" in r.stderr
    r = rehab("trace", "--", "/bin/true", env={"REHAB_BPFTRACE": str(tmp_path / "nope")})
    assert r.returncode == 2 and r.stdout == ""
    # which check fails first depends on the machine: each one says what is wrong
    assert any(m in r.stderr for m in ("bpftrace not found", "CAP_SYS_ADMIN", "Linux on amd64")), r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv to drop it")
def test_not_root_is_a_clear_error():
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", str(BIN), "trace",
                        "--", "/bin/true"], capture_output=True, text=True, timeout=60)
    if "Permission denied" in r.stderr or "No such file" in r.stderr or "cannot run" in r.stderr:
        pytest.skip(f"the venv is not usable by nobody: {r.stderr.strip()}")
    assert r.returncode == 2 and "not root" in r.stderr, r.stderr


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_root_without_cap_sys_admin_is_a_clear_error():
    r = subprocess.run(["setpriv", "--bounding-set=-sys_admin", str(BIN), "trace", "--", "/bin/true"],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "root without CAP_SYS_ADMIN" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def plain_binary(tmp_path_factory):
    if not shutil.which("go"):
        pytest.skip("go not installed")
    d = tmp_path_factory.mktemp("plainbin")
    (d / "go.mod").write_text("module example.com/plain\n\ngo 1.21\n")
    (d / "main.go").write_text('package main\n\nimport "os"\n\nfunc main() { f, _ := os.Open("x"); f.Close() }\n')
    subprocess.run(["go", "build", "-o", "prog", "."], cwd=d, env=go_env(), check=True, timeout=300)
    return d / "prog"


def test_binary_checks(plain_binary, tmp_path):
    arch = T.check_platform()
    machine, syms = T.elf_symbols(str(plain_binary), lambda n: n.startswith("runtime.call") or n == T.FILE_CLOSE)
    assert syms and T.FILE_CLOSE in syms and any(n.startswith("runtime.call") for n in syms)
    with pytest.raises(T.TraceError, match="no rehab marker symbols.*REHAB_INSTRUMENT=1"):
        T.Target(str(plain_binary), arch)
    objcopy = shutil.which("objcopy")
    if objcopy:
        stripped = tmp_path / "stripped"
        subprocess.run([objcopy, "--strip-all", str(plain_binary), str(stripped)], check=True)
        with pytest.raises(T.TraceError, match="stripped binary"):
            T.Target(str(stripped), arch)
    notelf = tmp_path / "script"
    notelf.write_text("#!/bin/sh\n")
    with pytest.raises(T.TraceError, match="not an ELF"):
        T.Target(str(notelf), arch)


def test_parse_bpftrace_json_output():
    assert T.parse_output(['{"type": "attached_probes", "data": {"probes": 8}}'])[0] is None  # not yet
    lines = ['{"type": "attached_probes", "data": {"probes": 8}}', "some program output",
             '{"type": "printf", "data": "rehab-ready\\n"}',
             '{"type": "map", "data": {"@acq": {"%d": 3, "5": 1}}}' % (0x9636339bb38a2c96 - 2**64),
             '{"type": "map", "data": {"@rel": {"5": 1}}}']
    attached, maps = T.parse_output(lines)
    assert attached == 8
    assert maps["acq"] == {0x9636339bb38a2c96: 3, 5: 1} and maps["rel"] == {5: 1}


if __name__ == "__main__":
    sys.exit(pytest.main([__file__, "-q"]))


# ------------------------------------------------------------------ the build's plan()

@pytest.fixture
def compile_args(tmp_path, monkeypatch):
    from helpers import compile_tool

    from toolexec_rehab.toolexec.compileargs import CompileArgs

    if not shutil.which("go"):
        pytest.skip("go not installed")
    for k in list(os.environ):
        if k.startswith("REHAB_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("REHAB_CONFIG", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # rejections.log; no go build here
    src = tmp_path / "src"
    src.mkdir()
    (src / "go.mod").write_text("module example.com/svc\n\ngo 1.21\n")
    (src / "svc.go").write_bytes(SRC)
    objdir = tmp_path / "b001"
    objdir.mkdir()
    ca = CompileArgs.parse([compile_tool(), "-o", str(objdir / "_pkg_.a"), "-p", "example.com/svc",
                            str(src / "svc.go")])
    return ca, src / "svc.go"


def _plan(ca, path):
    from toolexec_rehab.toolexec import wrap

    out = wrap.plan(ca, [(str(path), str(path))])
    if out is None:
        return None, None, []
    argv, log, _applied = out
    files = [a for a in argv if a.endswith(".go")]
    return files, (open(files[0], "rb").read() if files[0] != str(path) else None), log


def _ids(analyzer, path):
    gf = load_file(str(path))
    return {f.rule: f.node_id for f in analyzer.analyze(Package([gf])) if f.rule in I.TRACKED_RULES}


def test_plan_instrument_without_fixes(compile_args, monkeypatch):
    ca, path = compile_args
    monkeypatch.setenv("REHAB_FIX", "off")
    assert _plan(ca, path)[0] is None  # off and not instrumented: nothing to do
    monkeypatch.setenv("REHAB_INSTRUMENT", "1")
    files, new, log = _plan(ca, path)
    assert files[-1].endswith(I.MARKER_FILE) and len(files) == 2
    assert new.startswith(f"//line {path}:1:1\n".encode())
    body = new.split(b"\n", 1)[1]
    assert body.count(b"\n") == SRC.count(b"\n") and I.ACQUIRE.encode() in body
    assert b"defer r.Close()" not in body and not any("patched" in x for x in log)
    assert b"package svc\n" in open(files[-1], "rb").read()
    assert oct(os.stat(files[-1]).st_mode & 0o777) == "0o600"


def test_plan_confirmed_applies_only_confirmed(compile_args, monkeypatch, analyzer, tmp_path):
    ca, path = compile_args
    ids = _ids(analyzer, path)
    sites = [R.SiteCount(ids["rows-not-closed"], "rows-not-closed", str(path), 10, 3, 0, 3, 0),
             R.SiteCount(ids["body-not-closed"], "body-not-closed", str(path), 19, 3, 3, 0, 0)]
    monkeypatch.setenv("REHAB_FIX", "confirmed")
    monkeypatch.setenv("REHAB_TRACE", _trace(tmp_path, sites))
    files, new, log = _plan(ca, path)
    patched = [x for x in log if x.startswith("REHAB: patched")]
    assert len(patched) == 1 and ids["rows-not-closed"] in patched[0], log
    assert b"defer r.Close()" in new and I.ACQUIRE.encode() not in new and len(files) == 1

    # no usable trace: no fixes at all, and the reason is logged
    monkeypatch.setenv("REHAB_TRACE", str(tmp_path / "missing.json"))
    assert _plan(ca, path)[0] is None
    log = (tmp_path / "cache" / "toolexec-rehab" / "rejections.log").read_text()
    assert "no usable trace" in log and "missing.json" in log


def test_build_with_unusable_trace_stops_with_reason(tmp_path):
    """fix: confirmed with no trace, a relative path or a bad file: `compile -V=full` (the first thing
    a build runs through the shim) exits 2 and says why, instead of silently fixing nothing."""
    from helpers import compile_tool

    if not shutil.which("go"):
        pytest.skip("go not installed")
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    cases = [({}, "needs a trace"), ({"REHAB_TRACE": "trace.json"}, "must be an absolute path"),
             ({"REHAB_TRACE": str(bad)}, "not a toolexec-rehab trace"),
             ({"REHAB_TRACE": str(tmp_path / "none.json")}, "none.json")]
    for extra, msg in cases:
        env = {k: v for k, v in os.environ.items() if not k.startswith("REHAB_")}
        env.update({"REHAB_FIX": "confirmed", "REHAB_CONFIG": "off", **extra})
        r = subprocess.run([str(BIN), compile_tool(), "-V=full"], env=env, capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 2 and msg in r.stderr and r.stdout == "", (extra, r.stdout, r.stderr)
    good = _trace(tmp_path, [R.SiteCount("ast-node-0000000000000001", "rows-not-closed", "/a.go", 3, 1, 0, 1, 0)])
    env.update({"REHAB_TRACE": good})
    r = subprocess.run([str(BIN), compile_tool(), "-V=full"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and " rehab" in r.stdout, r.stderr
