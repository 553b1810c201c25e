"""Build constraints (golang/buildtags.py): the evaluator on its own, then `check` against the real
`go list` / `go vet` on temporary modules."""

import os
import re
import shutil
import subprocess

import pytest
from helpers import LEAKY, go_env, rehab
from hypothesis import given, settings
from hypothesis import strategies as st

from toolexec_rehab.golang import buildtags as bt

LINUX = bt.Context("linux", "amd64", cgo_enabled=True, tool_tags=("amd64.v1",),
                   release_tags=tuple(f"go1.{i}" for i in range(1, 22)))


def _hermetic(**kw):
    """An environment for build_context that reads no go env file and finds no go binary."""
    env = {"GOENV": "off", "PATH": "/nonexistent", "HOME": "/nonexistent"}
    env.update(kw)
    return env


def _ok(ctx, src: str, name: str = "x.go", all_files: bool = False) -> bool:
    return bt.matches(name, src.encode(), ctx, all_files=all_files)


# ---- expressions --------------------------------------------------------------------------------


@pytest.mark.parametrize("expr, want", [
    ("linux", True), ("!linux", False), ("windows", False), ("! windows", True),
    ("linux && amd64", True), ("linux&&arm64", False), ("windows || amd64", True),
    ("windows || darwin", False), ("!(windows || darwin)", True), ("!(!linux)", True),
    ("linux || windows && darwin", True),  # && binds tighter than ||
    ("(linux || windows) && darwin", False), ("((linux))", True),
    ("cgo", True), ("gc", True), ("gccgo", False), ("unix", True),
    ("go1.1", True), ("go1.21", True), ("go1.22", False), ("amd64.v1", True), ("amd64.v2", False),
    ("ignore", False), ("x.y_z9", False), ("é", False),
])
def test_go_build_expressions(expr, want):
    assert LINUX.eval(bt.parse_expr(expr)) is want
    assert _ok(LINUX, f"//go:build {expr}\n\npackage p\n") is want


@pytest.mark.parametrize("expr, msg", [
    ("", "unexpected end of expression"), ("linux &&", "unexpected end of expression"),
    ("!!linux", "double negation not allowed"), ("(linux", "missing close paren"),
    ("linux)", "unexpected token )"), ("linux amd64", "unexpected token amd64"),
    ("linux & amd64", "invalid syntax at &"), ("linux &&& amd64", "invalid syntax at &"),
    ("foo-bar", "invalid syntax at -"), ("()", "unexpected token )"),
])
def test_go_build_syntax_errors(expr, msg):
    with pytest.raises(bt.ConstraintError, match=re.escape(msg)):
        bt.parse_expr(expr)
    # a file with such a line is an error, even when named on the command line
    for all_files in (False, True):
        with pytest.raises(bt.ConstraintError, match="parsing //go:build line"):
            _ok(LINUX, f"//go:build {expr}\n\npackage p\n", all_files=all_files)


def test_expression_size_limit():
    assert LINUX.eval(bt.parse_expr(" || ".join(["windows"] * 999 + ["linux"])))
    with pytest.raises(bt.ConstraintError, match="too large"):
        bt.parse_expr(" || ".join(["linux"] * 1001))


_TAGS = ["linux", "windows", "amd64", "arm64", "cgo", "foo"]


def _trees():
    leaf = st.sampled_from(_TAGS).map(lambda t: ("tag", t))
    return st.recursive(leaf, lambda kids: st.one_of(
        kids.map(lambda x: ("not", x)),
        st.tuples(st.just("and"), kids, kids),
        st.tuples(st.just("or"), kids, kids)), max_leaves=12)


def _render(x) -> str:
    """Go syntax for a tree, every operand parenthesised: precedence is the parser's job."""
    if x[0] == "tag":
        return x[1]
    if x[0] == "not":
        return f"!({_render(x[1])})"
    return f"({_render(x[1])}) {'&&' if x[0] == 'and' else '||'} ({_render(x[2])})"


def _render_flat(x) -> str:
    """Go syntax with the fewest parentheses that keep the meaning (&& binds tighter than ||)."""
    if x[0] == "tag":
        return x[1]
    if x[0] == "not":
        inner = _render_flat(x[1])
        return "!" + (inner if x[1][0] == "tag" else f"({inner})")
    if x[0] == "and":
        # && is associative: only || operands need parentheses
        return " && ".join(f"({_render_flat(y)})" if y[0] == "or" else _render_flat(y) for y in x[1:])
    return " || ".join(_render_flat(y) for y in x[1:])


def _truth(x, tags) -> bool:
    op = x[0]
    if op == "tag":
        return x[1] in tags
    if op == "not":
        return not _truth(x[1], tags)
    if op == "and":
        return _truth(x[1], tags) and _truth(x[2], tags)
    return _truth(x[1], tags) or _truth(x[2], tags)


@settings(max_examples=300, deadline=None)
@given(_trees(), st.sets(st.sampled_from(_TAGS)))
def test_parser_agrees_with_a_direct_evaluation(tree, tags):
    ok = tags.__contains__
    assert bt.eval_expr(bt.parse_expr(_render(tree)), ok) == _truth(tree, tags)
    assert bt.eval_expr(bt.parse_expr(_render_flat(tree)), ok) == _truth(tree, tags)


# ---- the file header ---------------------------------------------------------------------------


def test_go_build_anywhere_in_the_leading_comments():
    assert not _ok(LINUX, "// Copyright\n\n//go:build windows\n\npackage p\n")
    assert not _ok(LINUX, "//go:build windows\npackage p\n")  # no blank line needed for //go:build
    assert not _ok(LINUX, "/* licence\n*/\n//go:build windows\n\npackage p\n")
    assert _ok(LINUX, "/* //go:build windows */\n\npackage p\n")
    assert _ok(LINUX, "/*\n//go:build windows\n*/\n\npackage p\n")
    assert _ok(LINUX, "package p\n\n//go:build windows\n")  # after the package clause: a comment
    assert _ok(LINUX, "//go:buildwindows\n\npackage p\n")  # not a //go:build line
    assert not _ok(LINUX, "\ufeff//go:build windows\n\npackage p\n")  # leading BOM
    with pytest.raises(bt.ConstraintError, match="multiple //go:build"):
        _ok(LINUX, "//go:build linux\n//go:build amd64\n\npackage p\n")


def test_legacy_plus_build():
    assert not _ok(LINUX, "// +build windows\n\npackage p\n")
    assert _ok(LINUX, "// +build windows linux\n\npackage p\n")  # space: or
    assert not _ok(LINUX, "// +build linux,arm64\n\npackage p\n")  # comma: and
    assert _ok(LINUX, "// +build linux,!arm64\n\npackage p\n")
    assert not _ok(LINUX, "// +build linux\n// +build windows\n\npackage p\n")  # lines: and
    assert not _ok(LINUX, "//+build windows\n\npackage p\n")
    assert _ok(LINUX, "// +build windows\npackage p\n")  # must be followed by a blank line
    assert _ok(LINUX, "/* x */\n// +build windows\n\npackage p\n")  # after /* */: not a header
    assert _ok(LINUX, "// +buildwindows\n\npackage p\n")
    assert not _ok(LINUX, "// +build\n\npackage p\n")  # empty: the tag "ignore"
    assert not _ok(LINUX, "// +build !!linux\n\npackage p\n")
    assert not _ok(LINUX, "// +build foo-bar\n\npackage p\n")
    assert _ok(LINUX, "// +build !foo-bar\n\npackage p\n")
    # //go:build wins over // +build
    assert _ok(LINUX, "// +build windows\n//go:build linux\n\npackage p\n")
    assert not _ok(LINUX, "// +build linux\n//go:build windows\n\npackage p\n")


@pytest.mark.parametrize("name, want", [
    ("x_linux.go", True), ("x_windows.go", False), ("x_amd64.go", True), ("x_arm64.go", False),
    ("x_linux_amd64.go", True), ("x_linux_arm64.go", False), ("x_windows_amd64.go", False),
    ("x_linux_test.go", True), ("x_windows_test.go", False), ("x_linux_arm64_test.go", False),
    ("linux.go", True), ("windows.go", True),  # no prefix: no constraint
    ("windows_amd64.go", True),  # only the GOARCH part counts
    ("x_unix.go", True), ("x_unix_test.go", True),  # unix is not a file-name constraint
    ("x_windows.pb.go", False),  # the name ends at the first dot
    ("x_foo_windows_bar.go", True), ("x_test_windows.go", False),
    ("x_nacl.go", False), ("x_sparc.go", False),  # known, if no longer supported
])
def test_file_name_constraints(name, want):
    assert LINUX.good_os_arch_file(name) is want
    assert _ok(LINUX, "package p\n", name=name) is want
    assert _ok(LINUX, "package p\n", name=name, all_files=True)  # a file named explicitly


def test_os_aliases_and_unix():
    for goos, goarch in [("android", "arm64"), ("illumos", "amd64"), ("ios", "arm64"), ("darwin", "arm64"),
                         ("windows", "amd64"), ("plan9", "386"), ("js", "wasm"), ("aix", "ppc64")]:
        ctx = bt.Context(goos, goarch, cgo_enabled=False)
        assert ctx.match_tag("unix") is (goos in {"android", "illumos", "ios", "darwin", "aix"}), goos
        assert ctx.good_os_arch_file("x_unix.go")
        assert ctx.good_os_arch_file(f"x_{goos}_{goarch}.go")
    assert bt.Context("android", "arm64", False).good_os_arch_file("x_linux.go")
    assert not bt.Context("linux", "arm64", False).good_os_arch_file("x_android.go")
    assert bt.Context("ios", "arm64", False).good_os_arch_file("x_darwin.go")
    assert bt.Context("illumos", "amd64", False).good_os_arch_file("x_solaris.go")
    assert not bt.Context("solaris", "amd64", False).good_os_arch_file("x_illumos.go")


def test_ignored_files():
    assert not _ok(LINUX, "package p\n", name="_x.go", all_files=True)
    assert not _ok(LINUX, "package p\n", name=".x.go", all_files=True)
    assert not _ok(LINUX, "package documentation\n", all_files=True)
    cgo = "// Copyright\n\npackage p\n\nimport (\n\t\"fmt\"\n\t// #include <stdio.h>\n\t\"C\"\n)\n"
    off = bt.Context("linux", "amd64", cgo_enabled=False)
    assert _ok(LINUX, cgo) and not _ok(off, cgo) and not _ok(off, cgo, all_files=True)
    assert not _ok(off, 'package p; import "os"; import "C"\n')
    assert _ok(off, 'package p\n\nimport "os"\n\nfunc f() { _ = "C" }\n')
    assert _ok(off, cgo, name="x_test.go")  # go lists it (as a bad file), it is not ignored


def test_long_header_is_read_in_steps(tmp_path):
    p = tmp_path / "x.go"
    p.write_text("// " + "x" * 100 + "\n" * 1 + ("// filler\n" * 2000) + "\n//go:build windows\n\npackage p\n")
    assert p.stat().st_size > 2 * bt.HEAD_BYTES
    assert not bt.file_matches(str(p), LINUX)
    body = "package p\n\nimport (\n" + "".join(f'\t_ "example.com/m{i}"\n' for i in range(800)) + '\t"C"\n)\n'
    p.write_text(body)
    off = bt.Context("linux", "amd64", cgo_enabled=False)
    assert bt.file_matches(str(p), LINUX) and not bt.file_matches(str(p), off)
    # a cgo preamble longer than the first read, in a /* */ comment
    p.write_text("package p\n\n/*\n" + "static int f(void) { return 0; }\n" * 1000 + "*/\nimport \"C\"\n")
    assert bt.file_matches(str(p), LINUX) and not bt.file_matches(str(p), off)
    p.write_text("package p\n\n" + "// #include <stdio.h>\n" * 1000 + "import \"C\"\n")
    assert bt.file_matches(str(p), LINUX) and not bt.file_matches(str(p), off)


# ---- the configuration -------------------------------------------------------------------------


def test_cgo_setting(tmp_path):
    host_os, host_arch = bt._host()
    cc = tmp_path / "bin" / bt.default_cc(host_os)
    cc.parent.mkdir()
    cc.write_text("#!/bin/sh\n")
    cc.chmod(0o755)
    native = f"{host_os}/{host_arch}" in bt.CGO_SUPPORTED
    assert bt.build_context(_hermetic(PATH=str(cc.parent))).cgo_enabled is native
    assert not bt.build_context(_hermetic()).cgo_enabled  # no C compiler on PATH
    assert bt.build_context(_hermetic(CC="/opt/my-cc")).cgo_enabled is native
    assert bt.build_context(_hermetic(CGO_ENABLED="1")).cgo_enabled
    assert not bt.build_context(_hermetic(PATH=str(cc.parent), CGO_ENABLED="0")).cgo_enabled
    cross = "windows" if host_os != "windows" else "linux"
    assert not bt.build_context(_hermetic(PATH=str(cc.parent), GOOS=cross)).cgo_enabled
    assert bt.build_context(_hermetic(GOOS=cross, CGO_ENABLED="1")).cgo_enabled
    src = "//go:build cgo\n\npackage p\n"
    assert _ok(bt.build_context(_hermetic(CGO_ENABLED="1")), src)
    assert not _ok(bt.build_context(_hermetic(CGO_ENABLED="0")), src)


def test_release_tags_from_goroot(tmp_path):
    (tmp_path / "VERSION").write_text("go1.21.3\ntime 2023-10-01T00:00:00Z\n")
    ctx = bt.build_context(_hermetic(GOROOT=str(tmp_path)))
    assert ctx.release_tags[0] == "go1.1" and ctx.release_tags[-1] == "go1.21"
    assert _ok(ctx, "//go:build go1.21\n\npackage p\n")
    assert not _ok(ctx, "//go:build go1.22\n\npackage p\n")
    (tmp_path / "VERSION").write_text("devel go1.27-abcdef Tue Jan 1 00:00:00 2030 +0000\n")
    assert bt.build_context(_hermetic(GOROOT=str(tmp_path))).release_tags[-1] == "go1.27"
    fallback = bt.build_context(_hermetic(GOROOT=str(tmp_path / "missing")))
    assert fallback.release_tags[-1] == f"go1.{bt.DEFAULT_GO_MINOR}"


def test_goroot_from_the_go_binary_through_symlinks(tmp_path):
    root = tmp_path / "go"
    (root / "bin").mkdir(parents=True)
    (root / "pkg" / "tool").mkdir(parents=True)
    (root / "VERSION").write_text("go1.19.2\n")
    (root / "bin" / "go").write_text("#!/bin/sh\n")
    (root / "bin" / "go").chmod(0o755)
    (tmp_path / "path").mkdir()
    (tmp_path / "path" / "go").symlink_to(root / "bin" / "go")
    ctx = bt.build_context(_hermetic(PATH=str(tmp_path / "path")))
    assert ctx.release_tags[-1] == "go1.19"


@pytest.mark.parametrize("goflags, tags", [
    ("-tags=a,b", ["a", "b"]), ("-tags a,b", ["a", "b"]), ("--tags=a", ["a"]),
    ("-mod=mod -tags=x -trimpath", ["x"]), ("-tags=a -tags=b", ["b"]),
    ('"-tags=a b"', ["a", "b"]), ("'-tags=a b,c'", ["a", "b,c"]), ("-tags=a,,b,", ["a", "b"]),
    ("-buildvcs=false", []), ("", []), ("-tagsx=a", []),
])
def test_goflags_tags(goflags, tags):
    assert bt.goflags_tags(goflags) == tags
    ctx = bt.build_context(_hermetic(GOFLAGS=goflags))
    assert list(ctx.build_tags) == tags
    for t in tags:
        assert _ok(ctx, f"//go:build {t}\n\npackage p\n") if bt.is_valid_tag(t) else True


def test_go_env_file_and_environment_precedence(tmp_path):
    f = tmp_path / "env"
    f.write_text("GOFLAGS=-tags=fromfile\nGOOS=windows\n# comment\nbad line\n")
    ctx = bt.build_context(_hermetic(GOENV=str(f)))
    assert ctx.build_tags == ("fromfile",) and ctx.goos == "windows"
    ctx = bt.build_context(_hermetic(GOENV=str(f), GOFLAGS="-tags=fromenv", GOOS="plan9"))
    assert ctx.build_tags == ("fromenv",) and ctx.goos == "plan9"
    root = tmp_path / "goroot"
    root.mkdir()
    (root / "go.env").write_text("GOFLAGS=-tags=fromgoroot\nGOARCH=riscv64\n")
    ctx = bt.build_context(_hermetic(GOENV=str(f), GOROOT=str(root)))
    assert ctx.build_tags == ("fromfile",) and ctx.goarch == "riscv64"


def test_arch_feature_tags():
    assert bt.build_context(_hermetic(GOARCH="amd64", GOAMD64="v3")).tool_tags[-3:] == (
        "amd64.v1", "amd64.v2", "amd64.v3")
    assert "arm64.v8.0" in bt.build_context(_hermetic(GOARCH="arm64")).tool_tags
    assert "goexperiment.foo" in bt.build_context(_hermetic(GOEXPERIMENT="foo,nobar")).tool_tags


def test_context_memo_follows_the_environment():
    a = bt.current_context(_hermetic(GOOS="linux", GOARCH="amd64"))
    assert bt.current_context(_hermetic(GOOS="linux", GOARCH="amd64")) is a
    b = bt.current_context(_hermetic(GOOS="windows", GOARCH="amd64"))
    assert (a.goos, b.goos) == ("linux", "windows")
    assert bt.current_context(_hermetic(GOOS="linux", GOARCH="amd64", GOFLAGS="-tags=t")).build_tags == ("t",)
    assert bt.current_context(_hermetic(GOOS="linux", GOARCH="amd64", CGO_ENABLED="0")).cgo_enabled is False


# ---- against the go command --------------------------------------------------------------------

GO = pytest.mark.skipif(shutil.which("go") is None, reason="needs go")

_P = "package p\n"
TRICKY = {
    "a.go": _P,
    "b_linux.go": _P,
    "c_windows_amd64.go": _P,
    "d_amd64_test.go": _P,
    "linux.go": _P,
    "e_unix.go": _P,
    "f.go": "//go:build unix\n\n" + _P,
    "g.go": "// +build linux,amd64 darwin\n\n" + _P,
    "h.go": "// +build ignore\n" + _P,
    "i.go": "//go:build !cgo\n\n" + _P,
    "j.go": "//go:build go1.21 && !go1.99\n\n" + _P,
    "k.go": "// Copyright\n\n//go:build (linux || darwin) && !386\n\n" + _P,
    "l.go": "//go:build mytag\n\n" + _P,
    "m.go": "// +build windows\n//go:build linux\n\n" + _P,
    "n_windows.pb.go": _P,
    "o_test.go": "//go:build linux || other\n\npackage p_test\n",
    "doc.go": "package documentation\n",
    "cg.go": "// Copyright\n\npackage p\n\n/*\n#include <stdlib.h>\n*/\nimport \"C\"\n",
    "cg_test.go": "package p\n",
    "_hidden.go": _P,
    ".dot.go": _P,
    "q.go": "/* a licence\n   in a block */\n//go:build windows\n\n" + _P,
    "r.go": "// comment\n//go:build !windows\n" + _P,
    "s.go": "//go:build amd64.v1 || arm64.v8.0 || !(amd64 || arm64)\n\n" + _P,
    "t_linux_test.go": _P,
    "u_android.go": _P,
    "v_solaris.go": _P,
    "w_darwin.go": _P,
    "x.go": "\ufeff//go:build ignore\n\n" + _P,
    "y.go": "/* x */\n// +build ignore\n\n" + _P,
    "z.go": "// +build !linux\n// +build amd64\n\n" + _P,
    "za.go": "//go:build gc && !gccgo\n\n" + _P,
    "zb.go": "//go:build boringcrypto\n\n" + _P,
    "zc.go": "//go:build other && mytag\n\n" + _P,
    "zd_plan9.go": _P,
    "ze.go": "// +build !foo-bar\n\n" + _P,
    "zf.go": "//go:build amd64.v3\n\n" + _P,
}

CONFIGS = [
    {},
    {"CGO_ENABLED": "0"},
    {"GOFLAGS": "-tags=mytag,other"},
    {"GOFLAGS": "'-tags=mytag other' -mod=mod"},
    {"GOOS": "windows", "GOARCH": "386"},
    {"GOOS": "windows", "GOARCH": "amd64", "GOAMD64": "v3"},
    {"GOOS": "darwin", "GOARCH": "arm64"},
    {"GOOS": "android", "GOARCH": "arm64", "CGO_ENABLED": "1"},
    {"GOOS": "illumos", "GOARCH": "amd64"},
    {"GOOS": "plan9", "GOARCH": "amd64"},
    {"GOOS": "js", "GOARCH": "wasm"},
]


def _write(d, files):
    d.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (d / name).write_text(body)


def _module(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    return tmp_path


def _go_list(d, env) -> set[str]:
    fmt = '{{join .GoFiles " "}} {{join .CgoFiles " "}} {{join .TestGoFiles " "}} {{join .XTestGoFiles " "}}'
    r = subprocess.run(["go", "list", "-f", fmt, "."], cwd=d, env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    return set(r.stdout.split())


@GO
@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: " ".join(f"{k}={v}" for k, v in c.items()) or "default")
def test_selection_matches_go_list(tmp_path, monkeypatch, config):
    from toolexec_rehab.analysis import expand_patterns

    d = _module(tmp_path) / "p"
    _write(d, TRICKY)
    env = go_env(**config)
    want = _go_list(d, env)
    for k in list(os.environ):
        if k not in env:
            monkeypatch.delenv(k)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    monkeypatch.chdir(tmp_path)
    (inp,) = expand_patterns(["./p"])
    got = {os.path.basename(f) for f in inp.files}
    assert got == want
    assert inp.report is None


# one package per expression: go list -e says which are errors and which include t.go
EXPRS = [
    "linux", "!linux", "linux && amd64", "linux&&amd64", "linux || windows && darwin", "!(linux || windows)",
    "! linux", "!(!linux)", "((linux))", "go1.1", "go1.26", "go1.99", "gc", "gccgo", "cgo", "!cgo", "unix",
    "amd64.v1", "amd64.v2", "ignore", "x.y_z9", "é", "!!linux", "(linux", "linux)", "linux ||", "",
    "linux & amd64", "linux amd64", "foo-bar", "()", "linux ||| amd64", "boringcrypto", "goexperiment.dwarf5x",
]


@GO
def test_expressions_match_go_list(tmp_path):
    root = _module(tmp_path)
    for i, e in enumerate(EXPRS):
        _write(root / f"e{i:02d}", {"ok.go": "package e\n", "t.go": f"//go:build {e}\n\npackage e\n"})
    fmt = '{{.Dir}}|{{join .GoFiles " "}}|{{if .Error}}ERR{{end}}'
    r = subprocess.run(["go", "list", "-e", "-f", fmt, "./..."], cwd=root, env=go_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    go_says = {}
    for line in r.stdout.splitlines():
        d, files, err = line.split("|")
        expr = EXPRS[int(os.path.basename(d)[1:])]
        go_says[expr] = "error" if err else ("t.go" in files.split())
    ctx = bt.current_context(go_env())
    ours = {}
    for i, expr in enumerate(EXPRS):
        try:
            ours[expr] = bt.file_matches(str(root / f"e{i:02d}" / "t.go"), ctx)
        except bt.ConstraintError:
            ours[expr] = "error"
    assert ours == go_says


def _vet(cwd, *args, **extra):
    return subprocess.run(["go", "vet", *args], cwd=cwd, env=go_env(**extra), capture_output=True, text=True,
                          timeout=300)


@GO
def test_ignored_file_with_syntax_error_is_clean_like_go_vet(tmp_path):
    d = _module(tmp_path) / "p"
    _write(d, {"p.go": "package p\n\nfunc A() {}\n",
               "gen.go": "//go:build ignore\n\npackage main\n\nfunc main( {\n"})
    assert _vet(tmp_path, "./...").returncode == 0
    r = rehab("check", "./...", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")
    assert rehab("check", "./p", cwd=tmp_path).returncode == 0
    # named explicitly, the file is vetted whatever its constraints say: both reject it
    assert _vet(tmp_path, "p/gen.go").returncode != 0
    r = rehab("check", "p/gen.go", cwd=tmp_path)
    assert r.returncode == 2 and "gen.go:5" in r.stdout + r.stderr


@GO
def test_windows_file_is_checked_only_for_windows(tmp_path):
    d = _module(tmp_path) / "p"
    _write(d, {"p.go": "package p\n", "leak_windows.go": LEAKY})
    host = rehab("check", "./...", cwd=tmp_path)
    win = rehab("check", "./...", cwd=tmp_path, env={"GOOS": "windows", "GOARCH": "amd64"})
    listed_host = _go_list(d, go_env())
    listed_win = _go_list(d, go_env(GOOS="windows", GOARCH="amd64"))
    assert ("leak_windows.go" in listed_host) is (bt._host()[0] == "windows")
    assert "leak_windows.go" in listed_win
    if bt._host()[0] != "windows":
        assert (host.returncode, host.stdout) == (0, ""), host.stderr
    assert win.returncode == 1, win.stderr
    assert win.stdout.count("leak_windows.go:9:12:") == 1 and "file-not-closed" in win.stdout
    # named on the command line: analysed on any GOOS, as go vet does
    named = rehab("check", "p/leak_windows.go", cwd=tmp_path)
    assert named.returncode == 1 and "leak_windows.go:9:12:" in named.stdout


@GO
def test_tagged_file_is_checked_only_with_the_tag(tmp_path):
    d = _module(tmp_path) / "p"
    _write(d, {"p.go": "package p\n", "leak.go": "//go:build mytag\n\n" + LEAKY})
    plain = rehab("check", "./...", cwd=tmp_path)
    assert (plain.returncode, plain.stdout) == (0, ""), plain.stderr
    for goflags in ("-tags=mytag", "-tags=other,mytag -mod=mod", "'-tags=other mytag'"):
        tagged = rehab("check", "./...", cwd=tmp_path, env={"GOFLAGS": goflags})
        assert tagged.returncode == 1, (goflags, tagged.stderr)
        assert tagged.stdout.count("leak.go:11:12:") == 1
        assert "leak.go" in _go_list(d, go_env(GOFLAGS=goflags))
    assert "leak.go" not in _go_list(d, go_env())


@GO
def test_excluded_directory(tmp_path):
    _module(tmp_path)
    _write(tmp_path / "p", {"p.go": "package p\n"})
    _write(tmp_path / "w", {"w_windows.go": "package w\n", "ign.go": "//go:build ignore\n\npackage w\n"})
    v = _vet(tmp_path, "./w")
    assert v.returncode != 0 and "build constraints exclude all Go files" in v.stderr
    r = rehab("check", "./w", cwd=tmp_path)
    assert r.returncode == 2 and "build constraints exclude all Go files in" in r.stderr
    assert _vet(tmp_path, "./...").returncode == 0
    r = rehab("check", "./...", cwd=tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@GO
def test_bad_go_build_line_is_an_error(tmp_path):
    _module(tmp_path)
    _write(tmp_path / "p", {"p.go": "package p\n", "bad.go": "//go:build linux &&& amd64\n\npackage p\n"})
    v = _vet(tmp_path, "./...")
    assert v.returncode != 0 and "parsing //go:build line" in v.stderr
    r = rehab("check", "./...", cwd=tmp_path)
    assert r.returncode == 2 and "bad.go: parsing //go:build line: invalid syntax at &" in r.stderr


@GO
def test_cgo_off_ignores_cgo_files(tmp_path):
    d = _module(tmp_path) / "p"
    _write(d, {"p.go": "package p\n", "leak.go": LEAKY.replace('\t"os"\n', '\t"os"\n\t"C"\n')})
    assert "leak.go" not in _go_list(d, go_env(CGO_ENABLED="0"))
    r = rehab("check", "./...", cwd=tmp_path, env={"CGO_ENABLED": "0"})
    assert (r.returncode, r.stdout) == (0, ""), r.stderr
    r = rehab("check", "./...", cwd=tmp_path, env={"CGO_ENABLED": "1"})
    assert r.returncode == 1 and "leak.go" in r.stdout


@GO
def test_underscore_file_named_explicitly(tmp_path):
    _module(tmp_path)
    _write(tmp_path / "p", {"p.go": "package p\n", "_x.go": LEAKY})
    assert _vet(tmp_path, "p/_x.go").returncode != 0
    r = rehab("check", "p/_x.go", cwd=tmp_path)
    assert r.returncode == 2 and "_x.go" in r.stderr


def _lines(out: str) -> list[str]:
    return [x for x in out.splitlines() if x.strip()]


def test_duplicate_arguments_print_each_finding_once(tmp_path):
    d = _module(tmp_path) / "p"
    _write(d, {"p.go": LEAKY, "q.go": LEAKY.replace("func Read(", "func Read2(")})
    base = _lines(rehab("check", "./...", cwd=tmp_path).stdout)
    assert len(base) == 2
    cases = [
        ["./...", "./..."], ["./...", "./p/..."], ["./p", "./p"], ["p", "./p", "p/"],
        ["./...", "./p", "p/p.go"], ["p/p.go", "./p"],
    ]
    for args in cases:
        r = rehab("check", *args, cwd=tmp_path)
        assert r.returncode == 1, (args, r.stderr)
        assert sorted(_lines(r.stdout)) == sorted(base), args
    r = rehab("check", *(["./..."] * 1000), cwd=tmp_path)
    assert sorted(_lines(r.stdout)) == sorted(base)
    # files named in one directory are reported together, each once
    r = rehab("check", "p/p.go", "p/p.go", "./p/p.go", cwd=tmp_path)
    assert _lines(r.stdout) == [x for x in base if "/p.go:" in x]
    r = rehab("check", "p/p.go", "p/q.go", "p/p.go", cwd=tmp_path)
    assert sorted(_lines(r.stdout)) == sorted(base)
    r = rehab("check", *(["p/q.go"] * 1000), cwd=tmp_path)
    assert _lines(r.stdout) == [x for x in base if "/q.go:" in x]
    (tmp_path / "x.go").write_text(LEAKY)
    r = rehab("check", ".", ".", "x.go", "x.go", cwd=tmp_path)
    assert len(_lines(r.stdout)) == 1 and "x.go:9:12:" in r.stdout


def test_expand_patterns_merges_requests(tmp_path, monkeypatch):
    from toolexec_rehab.analysis import expand_patterns

    d = _module(tmp_path) / "p"
    _write(d, {"p.go": _P, "q.go": _P, "ign.go": "//go:build ignore\n\n" + _P})
    _write(tmp_path / "p" / "sub", {"s.go": "package sub\n"})
    monkeypatch.chdir(tmp_path)
    ins = expand_patterns(["p/q.go", "./...", "p/p.go", "./p/..."])
    assert [i.directory for i in ins] == [str(d), str(tmp_path / "p" / "sub")]
    assert ins[0].report is None and [os.path.basename(f) for f in ins[0].files] == ["p.go", "q.go"]
    (only,) = expand_patterns(["p/q.go", "p/p.go", "./p/q.go"])
    assert only.report == {str(d / "p.go"), str(d / "q.go")}
    (named,) = expand_patterns(["p/ign.go"])
    assert named.report == {str(d / "ign.go")}
    assert [os.path.basename(f) for f in named.files] == ["ign.go", "p.go", "q.go"]
    (both,) = expand_patterns(["p/ign.go", "p"])
    assert both.report is None and str(d / "ign.go") in both.files
