"""cgo packages (golang/cgo.py, toolexec/wrap.py): the build analyses the file cgo translated
and carries the fixed lines into cgo's x.cgo1.go, row for row, or leaves that file alone.

These run the real cmd/cgo (`go tool cgo`, which needs a C compiler) on a small file; the
builds themselves are in tests/integration/test_shim_go_toolchain.py (go_fixtures/cgopkg)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from toolexec_rehab.golang import cgo
from toolexec_rehab.golang import parse as P
from toolexec_rehab.golang.package import load_file

# A file cgo rewrites in every way it does: the import, C types, a call with a pointer to
# check (three lines here, fewer in cgo's file), deferred calls; and a leak after all that.
SRC = b"""\
package main // the package

/*
typedef struct { int *p; } holder;
static int use(holder *h, int n) { return n; }
static void nop(void) {}
*/
import "C"

import (
	"fmt"
	"os"
)

type T struct{ p *C.int }

func f(path string) error {
	h := &C.holder{}
	x := C.use(h,
		C.int(
			3))
	defer C.use(h, 1)
	defer C.nop()
	fd, err := os.Open(path)
	if err != nil {
		return err
	}
	if x > 2 {
		return nil
	}
	fd.Close()
	fmt.Println("x")
	return nil
}

func main() { f("/etc/passwd") }
"""
LEAK_LINE = 24  # fd, err := os.Open(path)
ERR_END = 27  # the `}` closing `if err != nil {`


def _cgo(tmp_path: Path, src: bytes = SRC) -> tuple[Path, Path]:
    """(x.go, cgo's x.cgo1.go for it)."""
    if not (shutil.which("go") and shutil.which("gcc")):
        pytest.skip("needs go and a C compiler")
    (tmp_path / "go.mod").write_text("module example.com/c\n\ngo 1.22\n")
    x = tmp_path / "x.go"
    x.write_bytes(src)
    out = tmp_path / "b001"
    out.mkdir()
    env = {**os.environ, "CGO_ENABLED": "1", "GOFLAGS": ""}
    r = subprocess.run(["go", "tool", "cgo", "-objdir", f"{out}/", "x.go"], cwd=tmp_path, env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return x, out / "x.cgo1.go"


def _rows(b: bytes) -> list[bytes]:
    return b.split(b"\n")


def test_cgo_output_is_what_the_module_expects(tmp_path):
    """The facts golang/cgo.py relies on, as this Go's cmd/cgo writes them."""
    x, c1 = _cgo(tmp_path)
    out = c1.read_bytes()
    assert out.startswith(cgo.HEADER + str(x).encode() + b":1:1\n")
    assert cgo.translated_from(str(c1)) == str(x)
    rows = _rows(out)
    assert rows[3 + 7] == b'import _ "unsafe"'  # x.go line 8: import "C"
    assert b"/*line :15:" in rows[3 + 14] and b"_Ctype_int" in rows[3 + 14]
    assert b"_cgoCheckPointer" in out  # the pointer-checked call became a function literal...
    assert len(rows) == len(_rows(SRC)) + 3 - 1  # ...on one line fewer
    assert b"( /*line :23:8*/_Cfunc_nop /*line :23:12*/)()" in out  # C.nop() on x.go:23


def test_translation_splices_the_fixed_rows_and_keeps_every_position(tmp_path):
    x, c1 = _cgo(tmp_path)
    out = c1.read_bytes()
    gf = load_file(str(x))
    tr = cgo.Translation.load(str(c1), out, gf)
    assert tr is not None
    rows = _rows(SRC)
    # the line after the leak's error check, as a build's line-preserving fix writes it
    fixed = list(rows)
    fixed[ERR_END - 1] += b"; defer fd.Close()"
    new = tr.splice(b"\n".join(fixed))
    assert new is not None
    changed = [(a, b) for a, b in zip(_rows(out), _rows(new), strict=True) if a != b]
    assert changed == [(b"\t}", b"\t}; defer fd.Close()")]
    # every row of the result sits where the compiler would put x.go's row: the fixed one too
    where, _ = cgo.positions(new, P.parse(new), str(c1))
    row = _rows(new).index(b"\t}; defer fd.Close()")
    assert where[row] == (str(x), ERR_END)
    for r, p in enumerate(where):
        if p is not None and p[0] == str(x):
            assert _rows(new)[r] == fixed[p[1] - 1] or b"C" in fixed[p[1] - 1], (r, p)
    assert where[-2] == (str(x), len(rows) - 1)  # after the call cgo put on fewer lines

    # a row cgo rewrote (a C call) cannot take a change: None, the caller compiles cgo's file
    bad = list(rows)
    bad[22] += " // x".encode()  # defer C.nop()
    assert b"C.nop" in rows[22] and tr.splice(b"\n".join(bad)) is None
    bad = list(rows)
    bad[20] += b" "  # inside the call cgo wrote on fewer lines
    assert tr.splice(b"\n".join(bad)) is None
    assert tr.splice(SRC + b"\n") is None  # not line-preserving
    bad = list(rows)
    bad[ERR_END - 1] += b" /*line :3:1*/"  # would move what follows
    assert tr.splice(b"\n".join(bad)) is None


@pytest.mark.parametrize("edit", ["changed", "inserted", "appended", "removed"])
def test_a_source_edited_after_cgo_ran_is_not_understood(tmp_path, edit):
    x, c1 = _cgo(tmp_path)
    rows = _rows(SRC)
    if edit == "changed":
        rows[28] = b"\tif x > 3 {"
    elif edit == "inserted":
        rows.insert(30, b"\t// a comment")
    elif edit == "appended":
        rows[-1:] = [b"func g() {}", b""]
    else:
        del rows[31]
    x.write_bytes(b"\n".join(rows))
    assert cgo.Translation.load(str(c1), c1.read_bytes(), load_file(str(x))) is None


def test_positions_follow_line_directives_as_the_compiler_does():
    src = (b"package p\n"                                        # 1: (f, 1)
           b"var s = \"/*line :40:1*/\" // //line x.go:7\n"     # 2: a string and a comment: no directive
           b"var a = 1 /*line :10:5*/ + 2\n"                     # 3: a directive in the row
           b"var b = 3\n"                                        # 4: line 11
           b"//line other.go:20\n"                               # 5
           b"var c = 4\n"                                        # 6: other.go:20
           b"  //line y.go:3\n"                                  # 7: not at column 0: no directive
           b"//line nocolon\n"                                   # 8: no directive
           b"var d = /*line :5*/ 5\n")                           # 9: (other.go, 22); then "":5
    where, touched = cgo.positions(src, P.parse(src), "f.go")
    assert where[:5] == [("f.go", 1), ("f.go", 2), None, ("f.go", 11), None]
    assert where[5:9] == [("other.go", 20), ("other.go", 21), ("other.go", 22), None]
    assert where[9] == ("", 6)  # /*line :5*/ without a column: an empty file name
    assert touched[2] == [("f.go", 3), ("f.go", 10)]
    with pytest.raises(cgo.NotUnderstood):
        bad = b"package p\n/*line :1:x*/ var a = 1\n"
        cgo.positions(bad, P.parse(bad), "f.go")


def test_translated_from(tmp_path):
    body = b"package p\n"
    c1 = tmp_path / "x.cgo1.go"
    c1.write_bytes(cgo.HEADER + b"/src/x.go:1:1\n" + body)
    assert cgo.translated_from(str(c1)) == "/src/x.go"
    c1.write_bytes(cgo.HEADER + b"x.go:1:1\n" + body)
    assert cgo.translated_from(str(c1)) is None  # not absolute
    # cgo's translation of the cover tool's file (go test -cover): not followed
    c1.write_bytes(cgo.HEADER + b"/w/b001/x.cover.go:1:1\n//line /src/x.go:1:1\n" + body)
    assert cgo.translated_from(str(c1)) is None
    other = tmp_path / "_cgo_gotypes.go"
    other.write_bytes(cgo.HEADER + b"/src/x.go:1:1\n" + body)
    assert cgo.translated_from(str(other)) is None


# ------------------------------------------------------------------ the build (wrap.plan)

@pytest.fixture
def compile_cgo(tmp_path, monkeypatch):
    from helpers import compile_tool

    from toolexec_rehab.toolexec.compileargs import CompileArgs

    for k in list(os.environ):
        if k.startswith("REHAB_"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("REHAB_CONFIG", "off")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # rejections.log
    x, c1 = _cgo(tmp_path)
    objdir = c1.parent
    inputs = [str(objdir / "_cgo_gotypes.go"), str(c1)]
    ca = CompileArgs.parse([compile_tool(), "-o", str(objdir / "_pkg_.a"), "-p", "main", *inputs])
    return ca, x, c1


def test_build_patches_cgos_file_at_the_users_line(compile_cgo):
    from toolexec_rehab.toolexec import wrap

    ca, x, c1 = compile_cgo
    before = c1.read_bytes()
    chosen = wrap.select_files(ca)
    assert chosen == [(str(c1), str(x))]  # cgo's glue is not ours; x.cgo1.go stands for x.go
    argv, log, applied = wrap.plan(ca, chosen)
    (fd, gf), = applied
    assert gf.path == str(x) and fd.line == LEAK_LINE
    assert log == [f"REHAB: patched file-not-closed defer@{fd.node_id} {x}:{LEAK_LINE}"]
    new = Path(next(a for a in argv if a.endswith("x.cgo1.go")))
    assert new.parent == c1.parent / "rehab" and str(c1) not in argv
    changed = [(a, b) for a, b in zip(_rows(before), _rows(new.read_bytes()), strict=True) if a != b]
    assert changed == [(b"\t}", b"\t}; defer fd.Close()")]
    assert c1.read_bytes() == before and x.read_bytes() == SRC  # nothing of cmd/go's or the user's written
    # the same node ID as `check` gives (it analyses x.go itself)
    from toolexec_rehab.analysis import Analyzer, go_env_goroot
    from toolexec_rehab.golang.package import Package

    ids = [d.node_id for d in Analyzer(go_env_goroot()).analyze(Package([load_file(str(x))]))
           if d.rule == "file-not-closed"]
    assert ids == [fd.node_id]


def test_build_compiles_cgos_file_as_it_is_when_it_does_not_line_up(compile_cgo, tmp_path):
    from toolexec_rehab.toolexec import wrap

    ca, x, c1 = compile_cgo
    x.write_bytes(SRC.replace(b"package main // the package", b"package main // edited since"))
    assert wrap.plan(ca, wrap.select_files(ca)) is None
    log = (tmp_path / "cache" / "toolexec-rehab" / "rejections.log").read_text()
    assert f"cgo's {c1} does not line up with {x}: compiled as it is" in log
    assert not (c1.parent / "rehab").exists()
