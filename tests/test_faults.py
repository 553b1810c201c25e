"""Concurrency and faults: real `go build`s through the shim under stress.

Every case ends in a working build or a clear error, with nothing half-written, and the
source tree byte-identical (sha256 of every file) before and after.

The builds share the default GOCACHE (already warm with rehab's objects for std, as a
user's would be). A small module keeps them quick.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import BIN, go_env, rehab, tree_digest

MAIN = '''package main

import (
	"context"
	"fmt"
	"os"

	"example.com/faults/a"
)

var nonce = "NONCE"

func main() {
	f, err := os.Open(os.Args[0])
	if err != nil {
		panic(err)
	}
	b := make([]byte, 4)
	f.Read(b)
	ctx, _ := context.WithCancel(context.Background())
	fmt.Println(string(b[1:4]), a.N(os.Args[0]), ctx.Err(), nonce)
}
'''

PKG_A = '''package a

import "os"

// N returns the size of the named file, or -1.
func N(name string) int64 {
	f, err := os.Open(name)
	if err != nil {
		return -1
	}
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	return st.Size() / st.Size()
}
'''


def _gocache() -> str:
    return subprocess.run(["go", "env", "GOCACHE"], capture_output=True, text=True, check=True,
                          env=go_env()).stdout.strip()


def _module(d: Path, nonce: str = "n0", extra: dict[str, str] | None = None) -> Path:
    (d / "a").mkdir(parents=True)
    (d / "go.mod").write_text("module example.com/faults\n\ngo 1.22\n")
    (d / "main.go").write_text(MAIN.replace("NONCE", nonce))
    (d / "a" / "a.go").write_text(PKG_A)
    for rel, text in (extra or {}).items():
        (d / rel).parent.mkdir(parents=True, exist_ok=True)
        (d / rel).write_text(text)
    return d


def _env(tmp: Path, **extra) -> dict:
    # XDG_CACHE_HOME only to see our rejections.log; GOCACHE stays the shared default one
    return go_env(**{"GOFLAGS": f"-toolexec={BIN}", "REHAB_VERBOSE": "1", "GOCACHE": _gocache(),
                     "XDG_CACHE_HOME": str(tmp / "xdg"), **extra})


def _rejections(tmp: Path) -> str:
    p = tmp / "xdg" / "toolexec-rehab" / "rejections.log"
    return p.read_text() if p.exists() else ""


def _build(mod: Path, out: Path, env: dict, *flags, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run(["go", "build", *flags, "-o", str(out), "."], cwd=mod, env=env, capture_output=True,
                          text=True, timeout=timeout)


def _runs(binary: Path, nonce: str = "n0") -> None:
    p = subprocess.run([str(binary)], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0 and p.stdout == f"ELF 1 <nil> {nonce}\n", (p.returncode, p.stdout, p.stderr)


def _no_stray_files(root: Path) -> None:
    """Nothing half-written anywhere we could have written: no temp files of write_private."""
    stray = [p for p in root.rglob(".*.tmp")]
    assert not stray, stray


def test_eight_parallel_builds_share_one_gocache(tmp_path):
    """4 module copies x 2 concurrent builds each = 8 `go build`s at once on one GOCACHE: every
    one passes, patches, and gives a working binary; a rebuild from the cache still works."""
    mods = [_module(tmp_path / f"m{i}", nonce=f"n{i}") for i in range(4)]
    before = {m: tree_digest(m) for m in mods}
    env = _env(tmp_path)
    jobs = [(m, tmp_path / f"bin-{m.name}-{k}") for m in mods for k in range(2)]
    with ThreadPoolExecutor(max_workers=8) as ex:
        results = list(ex.map(lambda j: _build(j[0], j[1], env), jobs))
    for (m, out), r in zip(jobs, results, strict=True):
        assert r.returncode == 0, r.stdout + r.stderr
        _runs(out, f"n{m.name[1:]}")
    # each package was compiled (and patched) by at least one of the two builds of its copy
    for m in mods:
        logs = "".join(r.stderr for (mm, _), r in zip(jobs, results, strict=True) if mm == m)
        assert "REHAB: patched file-not-closed" in logs and "REHAB: patched lost-cancel" in logs, logs
    assert _rejections(tmp_path) == ""
    for m in mods:
        assert tree_digest(m) == before[m]
        _no_stray_files(m)
    again = _build(mods[0], tmp_path / "bin-again", env)  # from the cache (which replays the REHAB lines)
    assert again.returncode == 0 and again.stdout == "", again.stderr
    _runs(tmp_path / "bin-again", "n0")


BIG_FUNCS = 1500  # enough analysis work that the kill lands while the shim or the compiler runs


def _big_package() -> str:
    out = ['package big\n\nimport "os"\n']
    for i in range(BIG_FUNCS):
        out.append(f"func F{i}(p string) int {{\n\tf, err := os.Open(p)\n\tif err != nil {{\n\t\treturn {i}\n"
                   f"\t}}\n\tb := make([]byte, 1)\n\tn, _ := f.Read(b)\n\treturn n\n}}\n")
    return "\n".join(out)


@pytest.mark.parametrize("server", ["off", "on"])
def test_sigkill_mid_build_then_rebuild(tmp_path, server):
    """SIGKILL the whole build (go, the shim, the compiler) while the shim is at work on a
    package, then rebuild: the rebuild passes, patches, and nothing was left half-written."""
    main = MAIN.replace('"example.com/faults/a"', '"example.com/faults/a"\n\t"example.com/faults/big"') \
        .replace("ctx.Err(), nonce)", "ctx.Err(), nonce)\n\t_ = big.F0")
    # a fresh big package: a cached compile (an earlier run at this temp path) would never reach the shim
    big = _big_package() + f"\n// {os.urandom(8).hex()}\n"
    mod = _module(tmp_path / "m", nonce="k1", extra={"big/big.go": big})
    (mod / "main.go").write_text(main.replace("NONCE", "k1"))
    before = tree_digest(mod)
    work_tmp = tmp_path / "gotmp"
    work_tmp.mkdir()
    # off: the analysis in the build's own process group, where the SIGKILL reaches it; on: the
    # client is killed while the compile server (outside the build) analyses for it
    # A -toolexec wrapper in front of the shim marks the moment cmd/go hands the big package's
    # compile to it (deterministic, unlike spotting the process with pgrep).
    mark = tmp_path / "shim-started"
    wrapper = tmp_path / "mark-then-rehab"
    wrapper.write_text('#!/bin/sh\ncase "$TOOLEXEC_IMPORTPATH:${1##*/}" in example.com/faults/big:compile) '
                       ': > "$REHAB_MARK";; esac\nexec "$REHAB_BIN" "$@"\n')
    wrapper.chmod(0o755)
    env = _env(tmp_path, TMPDIR=str(work_tmp), REHAB_SERVER=server, REHAB_BIN=str(BIN), REHAB_MARK=str(mark))
    kill_env = dict(env, GOFLAGS=f"-toolexec={wrapper}")
    out = tmp_path / "bin"
    logs = tmp_path / "killed-build.log"
    with open(logs, "wb") as log:  # a file, not a pipe: 1500 patch lines must never block the build
        p = subprocess.Popen(["go", "build", "-o", str(out), "."], cwd=mod, env=kill_env, stdout=log,
                             stderr=subprocess.STDOUT, start_new_session=True)
    killed_at = None
    deadline = time.monotonic() + 300
    while p.poll() is None and time.monotonic() < deadline:
        if mark.exists():
            time.sleep(0.5)  # inside its analysis, or just after writing the overlay
            killed_at = "overlay written" if list(work_tmp.glob("go-build*/b*/rehab")) else "shim analyzing"
            os.killpg(p.pid, signal.SIGKILL)
            break
        time.sleep(0.02)
    p.wait(timeout=60)
    assert killed_at, "the build finished before the shim could be caught mid-build"
    assert p.returncode == -signal.SIGKILL
    assert not out.exists()
    assert tree_digest(mod) == before
    _no_stray_files(mod)
    r = _build(mod, out, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "" and "REHAB: patched file-not-closed" in r.stderr
    assert r.stderr.count("REHAB: patched file-not-closed") >= BIG_FUNCS  # the big package too
    _runs(out, "k1")
    assert tree_digest(mod) == before and _rejections(tmp_path) == ""
    _no_stray_files(mod)


# -------------------------------------------------------------- read-only object directory

def _can_unshare() -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    with tempfile.TemporaryDirectory() as d:
        r = subprocess.run(["unshare", "-m", "sh", "-c", f'mount -t tmpfs -o ro tmpfs "{d}"'], capture_output=True)
        return r.returncode == 0


# A -toolexec wrapper put in front of the shim: before a compile of one of our packages it
# enters a private mount namespace where the object directory (whole, or only the shim's
# rehab/ subdirectory) is on a read-only mount. Read-only mounts stop root as well.
RO_WRAPPER = r'''#!/bin/sh
rehab="$REHAB_BIN"
case "$TOOLEXEC_IMPORTPATH" in example.com/faults*) ;; *) exec "$rehab" "$@";; esac
case "$(basename "$1")" in compile) ;; *) exec "$rehab" "$@";; esac
out=""; prev=""
for a in "$@"; do [ "$prev" = "-o" ] && out="$a"; prev="$a"; done
[ -n "$out" ] || exec "$rehab" "$@"
objdir=$(dirname "$out")
if [ "$RO_WHAT" = objdir ]; then
  exec unshare -m sh -c 'mount --bind "$0" "$0" && mount -o remount,bind,ro "$0" && exec "$@"' "$objdir" "$rehab" "$@"
fi
mkdir -p "$objdir/rehab"
exec unshare -m sh -c 'mount -t tmpfs -o ro tmpfs "$0/rehab" && exec "$@"' "$objdir" "$rehab" "$@"
'''


@pytest.mark.skipif(not _can_unshare(), reason="needs root and mount namespaces for a read-only mount "
                    "(root ignores file modes, so chmod cannot make a directory read-only for it)")
@pytest.mark.parametrize("what", ["overlay", "objdir"])
def test_read_only_object_directory(tmp_path, what):
    """overlay: the shim cannot write its overlay under $WORK/bNNN/rehab -> it falls back to the
    original files (logged) and the build passes. objdir: the whole $WORK/bNNN is read-only ->
    the compiler itself cannot write its output: the build fails with the compiler's clear
    error, exactly as without rehab, and no Python traceback."""
    mod = _module(tmp_path / "m", nonce=f"ro-{what}")
    before = tree_digest(mod)
    wrapper = tmp_path / "ro-wrapper"
    wrapper.write_text(RO_WRAPPER)
    wrapper.chmod(0o700)
    # REHAB_SERVER=off: a compile server started outside this mount namespace would write the
    # overlay where it is writable (a working build, but not the fault this case is about)
    env = _env(tmp_path, RO_WHAT=what, REHAB_BIN=str(BIN), GOFLAGS=f"-toolexec={wrapper}", REHAB_SERVER="off")
    out = tmp_path / "bin"
    r = _build(mod, out, env)
    if what == "overlay":
        assert r.returncode == 0, r.stdout + r.stderr
        assert "REHAB: patched" not in r.stderr
        log = _rejections(tmp_path)
        assert "internal error: OSError" in log or "Read-only file system" in log, log
        _runs(out, "ro-overlay")
    else:
        assert r.returncode != 0
        text = r.stdout + r.stderr
        assert "read-only file system" in text.lower(), text
        assert "Traceback" not in text
        plain_env = dict(env, REHAB_BIN="/usr/bin/env")
        plain = _build(mod, tmp_path / "bin-plain", plain_env)
        assert plain.returncode != 0  # the same fault fails a build without rehab too
        assert not out.exists()
    assert tree_digest(mod) == before
    _no_stray_files(mod)


# -------------------------------------------------------------- unreadable source file

def _drop_dac():
    """Root reads any file whatever its mode; without CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH it
    obeys the mode bits like any user (the file and GOCACHE stay root's own)."""
    if os.geteuid() != 0:
        return []
    if not shutil.which("setpriv"):
        pytest.skip("root without setpriv cannot be denied a read")
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-dac_override,-dac_read_search"]


def test_unreadable_source_file(tmp_path):
    """A source file the user cannot read: `go build` fails with the same clear error with and
    without rehab; `check` names the file and exits 2; nothing is written."""
    mod = _module(tmp_path / "m", nonce="unr")
    secret = mod / "a" / "secret.go"
    secret.write_text("package a\n\nconst Secret = 1\n")
    before = tree_digest(mod)
    secret.chmod(0)
    try:
        pre = _drop_dac()
        env = _env(tmp_path)
        plain_env = dict(env)
        plain_env.pop("GOFLAGS")
        r = subprocess.run([*pre, "go", "build", "-o", str(tmp_path / "bin"), "."], cwd=mod, env=env,
                           capture_output=True, text=True, timeout=600)
        p = subprocess.run([*pre, "go", "build", "-o", str(tmp_path / "bin-plain"), "."], cwd=mod, env=plain_env,
                           capture_output=True, text=True, timeout=600)
        assert p.returncode != 0 and r.returncode != 0
        assert "permission denied" in r.stderr and "secret.go" in r.stderr and "Traceback" not in r.stderr
        assert r.stderr.replace("REHAB", "") == p.stderr
        c = subprocess.run([*pre, str(BIN), "check", "./..."], cwd=mod, env=plain_env, capture_output=True,
                           text=True, timeout=300)
        assert c.returncode == 2, (c.returncode, c.stdout, c.stderr)
        assert "secret.go" in c.stderr and "ermission denied" in c.stderr and "Traceback" not in c.stderr
    finally:
        secret.chmod(0o644)
    assert tree_digest(mod) == before
    assert not (tmp_path / "bin").exists()


# -------------------------------------------------------------- a template that renders invalid Go

# A stable directory: REHAB_RULE_DIRS is part of the -V=full cache key, and a fresh path each
# run would make every run recompile the standard library.
BAD_RULES = Path(tempfile.gettempdir()) / "toolexec-rehab-test-bad-syntax-rule"


def _bad_syntax_rule() -> Path:
    from toolexec_rehab.paths import builtin_dirs, write_private

    pat, _ = builtin_dirs()
    y = Path(pat, "file-not-closed.yaml").read_text()
    y = y.replace("id: file-not-closed", "id: bad-syntax").replace("file-not-closed.go.j2", "bad-syntax.go.j2")
    y = y.replace("- acquires: {}", "- acquires: {resources: [os-file]}")
    write_private(str(BAD_RULES / "bad-syntax.yaml"), y.encode())
    # unbalanced: `}; defer f.Close(` cannot parse
    write_private(str(BAD_RULES / "templates" / "bad-syntax.go.j2"), b"; defer {{ handle }}.Close(")
    return BAD_RULES


def test_rule_template_rendering_invalid_go(tmp_path):
    """The re-parse of the rewritten file catches it: the build compiles the originals and
    passes; `fix --write` writes nothing."""
    rules = _bad_syntax_rule()
    mod = _module(tmp_path / "m", nonce="tpl")
    before = tree_digest(mod)
    env = _env(tmp_path, REHAB_RULES="bad-syntax", REHAB_RULE_DIRS=str(rules))
    out = tmp_path / "bin"
    r = _build(mod, out, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "" and "REHAB: patched" not in r.stderr and "Traceback" not in r.stderr
    _runs(out, "tpl")
    f = rehab("fix", "--write", "--rules", "bad-syntax", ".", cwd=mod, env={"REHAB_RULE_DIRS": str(rules)})
    assert f.returncode in (0, 2) and "Traceback" not in f.stderr, f.stderr
    d = rehab("fix", "--diff", "--rules", "bad-syntax", ".", cwd=mod, env={"REHAB_RULE_DIRS": str(rules)})
    assert "Close(\n" not in d.stdout and "Traceback" not in d.stderr
    assert tree_digest(mod) == before
    _no_stray_files(mod)


# -------------------------------------------------------------- syntax newer than the grammar

NEW_EXPR = '''package main

// new(expr) is Go 1.26; tree-sitter-go 0.25 cannot parse it.
func answer() int {
	p := new(40 + 2)
	return *p / 42
}
'''

GENERIC_METHOD = '''package main

type box struct{ n int }

// A generic method: newer than tree-sitter-go (and than this toolchain's compiler).
func (b *box) Map[X any](f func(int) X) X { return f(b.n) }
'''


def _go_minor() -> int:
    v = subprocess.run(["go", "env", "GOVERSION"], capture_output=True, text=True, env=go_env()).stdout.strip()
    try:
        return int(v.removeprefix("go").split(".")[1])
    except (IndexError, ValueError):
        return 0


@pytest.mark.skipif(_go_minor() < 26, reason="new(expr) needs Go 1.26")
def test_syntax_newer_than_the_grammar(tmp_path):
    """new(expr) compiles on Go 1.26: the file passes through untouched, the package's other
    files are still patched, and the build passes. A generic method: the build gives the
    compiler's own error, the same as without rehab (or passes, on a compiler that has them)."""
    mod = _module(tmp_path / "m", nonce="new", extra={"newexpr.go": NEW_EXPR})
    (mod / "go.mod").write_text("module example.com/faults\n\ngo 1.26\n")
    (mod / "main.go").write_text(MAIN.replace("NONCE", "new").replace("a.N(os.Args[0])", "a.N(os.Args[0])*int64(answer())"))
    before = tree_digest(mod)
    env = _env(tmp_path)
    out = tmp_path / "bin"
    r = _build(mod, out, env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "REHAB: patched file-not-closed" in r.stderr and "newexpr.go" not in r.stderr
    _runs(out, "new")
    c = rehab("check", ".", cwd=mod)
    assert c.returncode == 1 and "newexpr.go" not in c.stdout + c.stderr  # skipped, not an error
    assert tree_digest(mod) == before and _rejections(tmp_path) == ""

    (mod / "generic.go").write_text(GENERIC_METHOD)
    before = tree_digest(mod)
    plain_env = dict(env)
    plain_env.pop("GOFLAGS")
    g = _build(mod, tmp_path / "bin2", env)
    gp = _build(mod, tmp_path / "bin2-plain", plain_env)
    assert g.returncode == gp.returncode
    if gp.returncode != 0:
        # the compiler's own message, as without rehab (cmd/go prints compile output on stderr)
        assert "generic.go:6" in gp.stderr and "Traceback" not in g.stderr
        assert all(line in g.stderr for line in gp.stderr.splitlines())
    assert tree_digest(mod) == before
    _no_stray_files(mod)
