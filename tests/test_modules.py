"""golang/modules.py: where an imported package outside the main module and the std library
lives (go.mod, go.work, vendor/modules.txt, the module cache), on fake trees under tmp_path."""

import os

import pytest

from toolexec_rehab.golang.modules import BuildList, Module, escape_path


def _write(path, text=""):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def _env(tmp_path, **kw):
    """Hermetic: no go env file, no go binary, a fake module cache."""
    env = {"GOENV": "off", "PATH": "/nonexistent", "HOME": str(tmp_path / "home"),
           "GOMODCACHE": str(tmp_path / "modcache")}
    env.update(kw)
    return {k: v for k, v in env.items() if v is not None}


def _cached(tmp_path, path, version, mod=None):
    """A module version in the fake cache (escaped dir), with its cache/download .mod if given."""
    d = tmp_path / "modcache" / f"{escape_path(path)}@{escape_path(version)}"
    _write(d / "x.go", "package x\n")
    if mod is not None:
        _write(tmp_path / "modcache" / "cache" / "download" / escape_path(path) / "@v" / f"{escape_path(version)}.mod",
               mod)
    return str(d)


def _main(tmp_path, gomod, name="main"):
    d = tmp_path / name
    _write(d / "go.mod", gomod)
    _write(d / "cmd" / "main.go", "package main\n")
    return d


def _find(tmp_path, gomod, **env):
    return BuildList.find(str(_main(tmp_path, gomod) / "cmd"), _env(tmp_path, **env))


GOMOD = """// leading comment
module example.com/app // trailing comment

go 1.22.1

toolchain go1.22.5

require github.com/single/one v1.2.3

require (
\t"github.com/quoted/two" v0.1.0 // indirect
\tgithub.com/block/three v2.0.0+incompatible // indirect

\t// a comment line inside the block
\tgolang.org/x/text v0.14.0
)

exclude github.com/single/one v1.0.0
retract [v0.0.1, v0.0.5] // oops
retract (
\tv0.0.9 // rationale
)
godebug (
\tpanicnil=1
)
"""


def test_require_forms_and_comments(tmp_path):
    bl = _find(tmp_path, GOMOD)
    assert bl.main_path == "example.com/app" and bl.main_dir == str(tmp_path / "main")
    got = {p: bl.module_of(p).version for p in
           ("github.com/single/one", "github.com/quoted/two/sub", "github.com/block/three", "golang.org/x/text/unicode")}
    assert got == {"github.com/single/one": "v1.2.3", "github.com/quoted/two/sub": "v0.1.0",
                   "github.com/block/three": "v2.0.0+incompatible", "golang.org/x/text/unicode": "v0.14.0"}
    m, d = bl.package_dir("golang.org/x/text/unicode/norm")
    assert m == Module("golang.org/x/text", "v0.14.0", str(tmp_path / "modcache" / "golang.org/x/text@v0.14.0"), "cache")
    assert d == os.path.join(m.dir, "unicode", "norm")
    assert m.cache_key == "golang.org/x/text@v0.14.0" and not m.available
    _cached(tmp_path, "golang.org/x/text", "v0.14.0")
    assert m.available
    assert bl.package_dir("golang.org/x/text")[1] == m.dir


def test_std_main_and_unknown_paths_give_none(tmp_path):
    bl = _find(tmp_path, GOMOD)
    for p in ("fmt", "net/http", "example.com/app", "example.com/app/internal/x", "github.com/other/mod",
              "github.com/single/oneplus"):
        assert bl.module_of(p) is None and bl.package_dir(p) is None, p
    assert bl.is_main("example.com/app/internal/x") and bl.is_main("example.com/app")
    assert not bl.is_main("github.com/single/one") and not bl.is_main("fmt")


def test_upper_case_escaping(tmp_path):
    assert escape_path("github.com/Azure/azure-SDK") == "github.com/!azure/azure-!s!d!k"
    bl = _find(tmp_path, "module m.io/app\ngo 1.21\nrequire github.com/Azure/X v1.0.0-RC1\n")
    d = _cached(tmp_path, "github.com/Azure/X", "v1.0.0-RC1")
    assert d.endswith(os.path.join("github.com", "!azure", "!x@v1.0.0-!r!c1"))
    m, pkg = bl.package_dir("github.com/Azure/X/Sub")
    assert m.dir == d and m.available and pkg == os.path.join(d, "Sub")
    assert m.cache_key == "github.com/Azure/X@v1.0.0-RC1"


def test_nested_modules_resolve_to_the_longest(tmp_path):
    bl = _find(tmp_path, "module m.io/app\ngo 1.21\nrequire (\n\tex.com/a v1.0.0\n\tex.com/a/b v0.3.0\n)\n")
    assert bl.module_of("ex.com/a/b/c").path == "ex.com/a/b"
    assert bl.module_of("ex.com/a/b").version == "v0.3.0"
    assert bl.module_of("ex.com/a/bc").path == "ex.com/a"  # a path-element boundary, not a string prefix
    assert bl.module_of("ex.com/a/x").path == "ex.com/a"


REPLACES = """module m.io/app
go 1.21
require (
\tex.com/mod v1.0.0
\tex.com/ver v1.1.0
\tex.com/other v1.1.0
\tex.com/local v0.0.0
\tex.com/up v0.0.0
\tex.com/abs v0.0.0
\tmylib v0.0.0
)
replace ex.com/mod => fork.io/Mod v1.5.0
replace ex.com/ver v1.1.0 => fork.io/ver v1.1.1
replace ex.com/other v1.0.0 => fork.io/other v9.0.0 // names another version: not applied
replace (
\tex.com/local => ./third_party/local
\tex.com/up => ../up
\tmylib => ../mylib
)
"""


def test_replace_forms(tmp_path):
    absdir = tmp_path / "elsewhere"
    bl = _find(tmp_path, REPLACES + f"replace ex.com/abs => {absdir}\n")
    mod = bl.module_of("ex.com/mod/pkg")
    assert (mod.path, mod.version, mod.source, mod.replacement) == ("ex.com/mod", "v1.5.0", "cache", "fork.io/Mod")
    assert mod.dir == str(tmp_path / "modcache" / "fork.io" / "!mod@v1.5.0")
    assert mod.cache_key == "ex.com/mod=>fork.io/Mod@v1.5.0"
    assert bl.module_of("ex.com/ver").dir.endswith("fork.io/ver@v1.1.1".replace("/", os.sep))
    assert bl.module_of("ex.com/other").dir.endswith("ex.com/other@v1.1.0".replace("/", os.sep))
    main = tmp_path / "main"
    local = bl.module_of("ex.com/local")
    assert local == Module("ex.com/local", "", str(main / "third_party" / "local"), "local")
    assert local.cache_key is None
    assert bl.package_dir("ex.com/up/p/q")[1] == str(tmp_path / "up" / "p" / "q")
    assert bl.module_of("ex.com/abs").dir == str(absdir)
    assert bl.module_of("mylib/x").dir == str(tmp_path / "mylib")  # a dot-less path a build-list module claims


@pytest.mark.parametrize("gomod", [
    "go 1.21\nrequire ex.com/a v1.0.0\n",  # no module directive
    "module m.io/app\nrequire (\n\tex.com/a v1.0.0\n",  # unclosed block
    "module m.io/app\nrequire ex.com/a\n",  # require without a version
    'module "m.io/app\n',  # unterminated quote
    "module m.io/app\nreplace ex.com/a v1.0.0\n",  # replace without =>
    "module m.io/app\nreplace ex.com/a => fork.io/a\n",  # module replacement without a version
    "module m.io/app\ngo banana\n",
    "module m.io/app\n)\n",
    "module m.io/app\nrequire (\n\trequire (\n)\n",
    b"module m.io/app\n\xff\xfe\n",  # not UTF-8
])
def test_malformed_go_mod_gives_none(tmp_path, gomod):
    if isinstance(gomod, bytes):
        _write(tmp_path / "main" / "go.mod").write_bytes(gomod)
        assert BuildList.find(str(tmp_path / "main"), _env(tmp_path)) is None
    else:
        assert _find(tmp_path, gomod) is None


def test_outside_a_module_or_module_mode_off(tmp_path):
    (tmp_path / "loose").mkdir()
    assert BuildList.find(str(tmp_path / "loose"), _env(tmp_path)) is None
    _main(tmp_path, GOMOD)
    assert BuildList.find(str(tmp_path / "main"), _env(tmp_path, GO111MODULE="off")) is None


def test_module_cache_location(tmp_path):
    gopath = os.pathsep.join([str(tmp_path / "gp1"), str(tmp_path / "gp2")])
    bl = _find(tmp_path, GOMOD, GOMODCACHE=None, GOPATH=gopath)
    assert bl.module_of("github.com/single/one").dir == str(tmp_path / "gp1" / "pkg" / "mod" / "github.com/single/one@v1.2.3")
    bl = BuildList.find(str(tmp_path / "main"), _env(tmp_path, GOMODCACHE=None))
    assert bl.module_of("github.com/single/one").dir.startswith(str(tmp_path / "home" / "go" / "pkg" / "mod"))


MODULES_TXT = """# github.com/single/one v1.2.3
## explicit; go 1.20
github.com/single/one
github.com/single/one/sub
# ex.com/loc => ./loc
## explicit
ex.com/loc
"""


def _vendored(tmp_path, go="1.21", **env):
    main = _main(tmp_path, f"module m.io/app\ngo {go}\nrequire github.com/single/one v1.2.3\n"
                           "require ex.com/loc v0.0.0\nreplace ex.com/loc => ./loc\n")
    _write(main / "vendor" / "modules.txt", MODULES_TXT)
    return BuildList.find(str(main), _env(tmp_path, **env)), main


def test_vendor_directory(tmp_path):
    bl, main = _vendored(tmp_path)
    m, d = bl.package_dir("github.com/single/one/sub")
    assert m == Module("github.com/single/one", "v1.2.3", str(main / "vendor" / "github.com/single/one"), "vendor")
    assert d == str(main / "vendor" / "github.com" / "single" / "one" / "sub")
    assert m.cache_key is None
    assert bl.module_of("ex.com/loc").source == "vendor" and bl.module_of("ex.com/loc").version == ""


@pytest.mark.parametrize("go,goflags,source", [
    ("1.21", "-mod=mod", "cache"),
    ("1.21", "-buildvcs=false -mod=readonly", "cache"),
    ("1.13", None, "cache"),  # before go 1.14 vendor/ is not used by default
    ("1.13", "-mod=vendor", "vendor"),
    ("1.21", "-mod=mod --mod=vendor", "vendor"),  # the last -mod wins
])
def test_vendor_mode_choice(tmp_path, go, goflags, source):
    bl, _ = _vendored(tmp_path, go, GOFLAGS=goflags)
    assert bl.module_of("github.com/single/one").source == source


def test_vendor_not_used_without_go_directive(tmp_path):
    main = _main(tmp_path, "module m.io/app\nrequire github.com/single/one v1.2.3\n")
    _write(main / "vendor" / "modules.txt", MODULES_TXT)
    assert BuildList.find(str(main), _env(tmp_path)).module_of("github.com/single/one").source == "cache"


def _workspace(tmp_path):
    _write(tmp_path / "ws" / "go.work", "go 1.22\n\nuse (\n\t./a\n\t./b // the second module\n)\nuse ./missing\n\n"
                                      "replace ex.com/dep => ./dep3\n")
    _write(tmp_path / "ws" / "a" / "go.mod", "module ex.com/a\ngo 1.22\nrequire (\n\tex.com/b v1.0.0\n"
                                             "\tex.com/dep v1.0.0\n\tex.com/lib v1.1.0\n)\nreplace ex.com/dep => ./dep1\n")
    _write(tmp_path / "ws" / "b" / "go.mod", "module ex.com/b\ngo 1.22\nrequire ex.com/lib v1.3.0\n")
    _write(tmp_path / "ws" / "a" / "pkg" / "a.go", "package pkg\n")
    return tmp_path / "ws"


def test_go_work(tmp_path):
    ws = _workspace(tmp_path)
    bl = BuildList.find(str(ws / "a" / "pkg"), _env(tmp_path))
    assert bl.main_path == "ex.com/a" and bl.is_main("ex.com/a/pkg") and bl.is_main("ex.com/b/x")
    assert bl.module_of("ex.com/a/pkg") is None
    assert bl.package_dir("ex.com/b/x") == (Module("ex.com/b", "", str(ws / "b"), "local"), str(ws / "b" / "x"))
    assert bl.module_of("ex.com/dep").dir == str(ws / "dep3")  # go.work's replace comes first
    assert bl.module_of("ex.com/lib").version == "v1.3.0"  # the highest the workspace's modules require


def test_go_work_off_and_explicit(tmp_path):
    ws = _workspace(tmp_path)
    bl = BuildList.find(str(ws / "a"), _env(tmp_path, GOWORK="off"))
    assert not bl.is_main("ex.com/b/x")
    assert bl.module_of("ex.com/b/x").dir.endswith("ex.com/b@v1.0.0".replace("/", os.sep))
    assert bl.module_of("ex.com/dep").dir == str(ws / "a" / "dep1")
    assert bl.module_of("ex.com/lib").version == "v1.1.0"
    (ws / "go.work").rename(tmp_path / "elsewhere.work")
    assert not BuildList.find(str(ws / "a"), _env(tmp_path)).is_main("ex.com/b")
    _write(tmp_path / "elsewhere.work", "go 1.22\nuse ./ws/a\nuse ws/b\n")
    bl = BuildList.find(str(ws / "a"), _env(tmp_path, GOWORK=str(tmp_path / "elsewhere.work")))
    assert bl.module_of("ex.com/b").dir == str(ws / "b")  # use dirs are relative to the go.work file


def test_memo_and_its_invalidation(tmp_path):
    env = _env(tmp_path)
    main = _main(tmp_path, GOMOD)
    bl = BuildList.find(str(main / "cmd"), env)
    assert BuildList.find(str(main), env) is bl
    assert BuildList.find(str(main), _env(tmp_path, GOFLAGS="-mod=mod")) is not bl  # another environment
    st = os.stat(main / "go.mod")
    (main / "go.mod").write_text(GOMOD.replace("v1.2.3", "v1.2.4"))
    os.utime(main / "go.mod", ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    bl2 = BuildList.find(str(main), env)
    assert bl2 is not bl and bl2.module_of("github.com/single/one").version == "v1.2.4"
    (main / "go.mod").write_text("module\n")
    assert BuildList.find(str(main), env) is None


def test_version_selection_below_go_1_17_walks_the_graph(tmp_path):
    _cached(tmp_path, "ex.com/a", "v1.0.0", "module ex.com/a\nrequire (\n\tex.com/b v1.2.0\n\tex.com/c v0.1.0\n)\n")
    _cached(tmp_path, "ex.com/b", "v1.2.0", "module ex.com/b\nrequire ex.com/c v0.2.0-pre\n")
    _cached(tmp_path, "ex.com/c", "v0.2.0-pre", "module ex.com/c\n")
    bl = _find(tmp_path, "module m.io/app\ngo 1.16\nrequire (\n\tex.com/a v1.0.0\n\tex.com/b v1.1.0\n)\n")
    assert bl.module_of("ex.com/b").version == "v1.2.0"
    assert bl.module_of("ex.com/c/sub").version == "v0.2.0-pre"  # only reached through a and b
    bl = _find(tmp_path, "module m.io/app\ngo 1.17\nrequire (\n\tex.com/a v1.0.0\n\tex.com/b v1.1.0\n)\n")
    assert bl.module_of("ex.com/b").version == "v1.1.0"  # pruned graph: go.mod lists the selected version
    assert bl.module_of("ex.com/c") is None


def test_real_fixture_depsvc(root):
    bl = BuildList.find(os.path.join(root, "go_fixtures", "depsvc"))
    if bl is None or not bl.module_of("github.com/jackc/pgx/v5").available:
        pytest.skip("depsvc or its modules are not in the module cache here")
    m, d = bl.package_dir("github.com/jackc/pgx/v5/pgxpool")
    assert m.version == "v5.13.0" and os.path.isdir(d)
    assert d.endswith(os.path.join("github.com", "jackc", "pgx", "v5@v5.13.0", "pgxpool"))
