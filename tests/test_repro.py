"""Reproducible builds: two rehab builds of the same input give byte-identical binaries.

The first build may come from the build cache (its objects were made by an earlier rehab
build with the same rules and config: the -V=full suffix sees to that); the second is
`go build -a` from a different checkout directory, so every package is compiled again
through the shim, in a different $WORK, with the overlay files at different paths.
"""

from __future__ import annotations

import hashlib
import subprocess

from helpers import BIN, go_env, tree_digest

# Imports only os and context: `-a` then recompiles a small part of std.
MAIN = '''package main

import (
	"context"
	"os"
)

func size(name string) int64 {
	f, err := os.Open(name)
	if err != nil {
		return -1
	}
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	return st.Size()
}

func main() {
	ctx, _ := context.WithCancel(context.Background())
	if size(os.Args[0]) > 0 && ctx.Err() == nil {
		os.Stdout.WriteString("ok\\n")
	}
}
'''


def _module(d):
    d.mkdir()
    (d / "go.mod").write_text("module example.com/repro\n\ngo 1.22\n")
    (d / "main.go").write_text(MAIN)
    return d


def _sha(p) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def test_two_rehab_builds_are_byte_identical(tmp_path):
    a, b = _module(tmp_path / "checkout-a"), _module(tmp_path / "checkout-b")
    before = tree_digest(a)
    env = go_env(GOFLAGS=f"-toolexec={BIN} -trimpath", REHAB_VERBOSE="1")
    r1 = subprocess.run(["go", "build", "-o", str(tmp_path / "one"), "."], cwd=a, env=env,
                        capture_output=True, text=True, timeout=600)
    assert r1.returncode == 0, r1.stderr
    r2 = subprocess.run(["go", "build", "-a", "-o", str(tmp_path / "two"), "."], cwd=b, env=env,
                        capture_output=True, text=True, timeout=900)
    assert r2.returncode == 0, r2.stderr
    # the second build really rewrote main (with -a nothing comes from the cache)
    assert "REHAB: patched file-not-closed" in r2.stderr and "REHAB: patched lost-cancel" in r2.stderr
    assert _sha(tmp_path / "one") == _sha(tmp_path / "two")
    # ... and the rewrite is in the binary: a plain build of the same input differs
    plain = go_env(GOFLAGS="-trimpath")
    r3 = subprocess.run(["go", "build", "-o", str(tmp_path / "plain"), "."], cwd=a, env=plain,
                        capture_output=True, text=True, timeout=600)
    assert r3.returncode == 0, r3.stderr
    assert _sha(tmp_path / "plain") != _sha(tmp_path / "one")
    for exe in ("one", "two", "plain"):
        p = subprocess.run([str(tmp_path / exe)], capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and p.stdout == "ok\n"
    assert tree_digest(a) == before
