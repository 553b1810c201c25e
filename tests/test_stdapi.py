"""Tests for toolexec_rehab.golang.stdapi (the Go std API table)."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from toolexec_rehab.golang import stdapi

REPO = Path(__file__).resolve().parent.parent


def _find_goroot() -> str | None:
    cands = [os.environ.get("GOROOT")]
    go = shutil.which("go")
    if go:
        try:
            cands.append(
                subprocess.run([go, "env", "GOROOT"], check=False, capture_output=True, text=True, timeout=60).stdout.strip()
            )
        except (OSError, subprocess.SubprocessError):
            pass
    cands.append("/usr/local/go")
    for c in cands:
        if c and stdapi.api_files(c):
            return c
    return None


GOROOT = _find_goroot()
needs_goroot = pytest.mark.skipif(GOROOT is None, reason="no Go installation with api/go1*.txt")


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch):
    """Private cache dir and a clean memo for every test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    stdapi.clear_memo()
    yield
    stdapi.clear_memo()


@pytest.fixture(scope="module")
def shipped() -> stdapi.StdAPI:
    return stdapi.StdAPI(json.loads(stdapi.shipped_path().read_text(encoding="utf-8")), "shipped")


@pytest.fixture(scope="module")
def parsed_real() -> stdapi.StdAPI:
    if GOROOT is None:
        pytest.skip("no Go installation")
    return stdapi.StdAPI(stdapi.parse_goroot(GOROOT), "parsed")



# --------------------------------------------------------------------------
# the brief's examples, on the shipped table and on a fresh parse
# --------------------------------------------------------------------------


@pytest.fixture(params=["shipped", "parsed"])
def api(request, shipped):
    if request.param == "shipped":
        return shipped
    return request.getfixturevalue("parsed_real")


def test_func_results(api):
    assert api.func_results("net/http", "Get") == ["*net/http.Response", "error"]
    assert api.func_results("os", "Open") == ["*os.File", "error"]
    assert api.func_results("context", "WithTimeout") == ["context.Context", "context.CancelFunc"]
    assert api.func_results("context", "WithCancel") == ["context.Context", "context.CancelFunc"]
    assert api.func_results("strings", "NewReader") == ["*strings.Reader"]
    assert api.func_results("os", "Exit") == []
    assert api.func_results("os", "NoSuchFunc") is None
    assert api.func_results("no/such/pkg", "Get") is None


def test_func_params(api):
    assert api.func_params("net/http", "Get") == ["string"]
    assert api.func_params("fmt", "Printf") == ["string", "...interface{}"]
    assert api.func_params("os", "WriteFile") == ["string", "[]byte", "io/fs.FileMode"]
    assert api.func_params("nope", "x") is None


def test_generic_func(api):
    assert api.func_params("slices", "Collect") == ["iter.Seq[$0]"]
    assert api.func_results("slices", "Collect") == ["[]$0"]
    assert api.func_type_params("slices", "Collect") == ["interface{}"]
    assert api.func_type_params("os", "Open") == []
    assert api.func_type_params("os", "nope") is None


def test_method_results(api):
    assert api.method_results("*database/sql.DB", "Query") == ["*database/sql.Rows", "error"]
    # pointer-receiver method looked up on the non-pointer type
    assert api.method_results("database/sql.DB", "Query") == ["*database/sql.Rows", "error"]
    assert api.method_results("*net/http.Client", "Do") == ["*net/http.Response", "error"]
    assert api.method_results("time.Time", "Sub") == ["time.Duration"]
    assert api.method_results("*database/sql.DB", "NoSuchMethod") is None
    assert api.method_results("database/sql.NoSuchType", "Query") is None


def test_method_params(api):
    assert api.method_params("*database/sql.DB", "QueryContext") == [
        "context.Context",
        "string",
        "...interface{}",
    ]
    assert api.method_params("*net/http.Client", "Do") == ["*net/http.Request"]


def test_interface_methods(api):
    assert api.method_results("io.ReadCloser", "Close") == ["error"]
    # methods of embedded interfaces are listed flattened
    assert api.method_results("io.ReadCloser", "Read") == ["int", "error"]
    assert api.method_params("io.ReadCloser", "Read") == ["[]byte"]
    assert api.method_results("context.Context", "Done") == ["<-chan struct{}"]
    assert api.method_results("error", "Error") == ["string"]


def test_promoted_methods_and_fields(api):
    # bufio.ReadWriter embeds *Reader and *Writer
    assert api.method_results("*bufio.ReadWriter", "ReadString") == ["string", "error"]
    assert api.method_results("bufio.ReadWriter", "Flush") == ["error"]
    assert api.field_type("bufio.ReadWriter", "Reader") == "*bufio.Reader"
    # text/template.Template embeds *parse.Tree, whose field Root is promoted
    assert api.field_type("*text/template.Template", "Tree") == "*text/template/parse.Tree"
    assert api.field_type("*text/template.Template", "Root") == "*text/template/parse.ListNode"


def test_field_type(api):
    assert api.field_type("*net/http.Response", "Body") == "io.ReadCloser"
    assert api.field_type("net/http.Response", "Body") == "io.ReadCloser"
    assert api.field_type("net/http.Response", "Header") == "net/http.Header"
    assert api.field_type("*net/http.Request", "URL") == "*net/url.URL"
    assert api.field_type("net/http.Response", "NoSuchField") is None
    assert api.field_type("io.Reader", "X") is None


def test_var_and_const_types(api):
    assert api.var_type("net/http", "DefaultClient") == "*net/http.Client"
    assert api.var_type("os", "Args") == "[]string"
    assert api.var_type("io", "EOF") == "error"
    assert api.var_type("os", "Nope") is None
    assert api.const_type("time", "Second") == "time.Duration"
    assert api.const_type("net/http", "MethodGet") == "untyped string"
    assert api.const_type("net/http", "StatusOK") == "untyped int"
    assert api.const_type("time", "NoSuchConst") is None


def test_is_interface_and_has_package(api):
    assert api.is_interface("io.Reader")
    assert api.is_interface("context.Context")
    assert api.is_interface("error")
    assert api.is_interface("interface{}")
    assert api.is_interface("os.FileInfo")  # alias of io/fs.FileInfo
    assert not api.is_interface("*io.Reader")
    assert not api.is_interface("net/http.Client")
    assert not api.is_interface("string")
    assert not api.is_interface("no/such.Type")
    assert api.has_package("net/http")
    assert api.has_package("math/rand/v2")
    assert not api.has_package("net/htt")
    assert not api.has_package("golang.org/x/net/http2")


def test_generic_receiver_substitution(api):
    assert api.method_results("*sync/atomic.Pointer[main.T]", "Load") == ["*main.T"]
    assert api.method_results("*sync/atomic.Pointer", "Load") == ["*$0"]
    assert api.field_type("database/sql.Null[string]", "V") == "string"
    assert api.type_params("database/sql.Null") == ["interface{}"]


def test_aliases(api):
    assert api.resolve_alias("*os.FileInfo") == "*io/fs.FileInfo"
    assert api.resolve_alias("net/http.Client") == "net/http.Client"
    assert api.method_results("os.FileInfo", "ModTime") == ["time.Time"]
    assert api.method_results("os.FileMode", "IsDir") == ["bool"]


def test_underlying(api):
    assert api.underlying("net/http.Header") == "map[string][]string"
    assert api.underlying("net/http.HandlerFunc") == "func(net/http.ResponseWriter, *net/http.Request)"
    assert api.underlying("net/http.Client") == "struct"
    assert api.underlying("io.Reader") == "interface"
    assert api.underlying("no/such.T") is None


def test_real_ambiguous_package_names(api):
    # inside html/template, "template.FuncMap" cannot mean html/template itself
    assert api.method_params("*html/template.Template", "Funcs") == ["text/template.FuncMap"]
    assert api.resolve_alias("html/template.FuncMap") == "text/template.FuncMap"
    # rand: crypto/rand, math/rand, math/rand/v2 -> Rand exists in two; preference picks math/rand
    assert api.func_params("testing/quick", "Value") == ["reflect.Type", "*math/rand.Rand"]
    assert api.method_params("*math/big.Int", "Rand") == ["*math/rand.Rand", "*math/big.Int"]
    assert sorted(api.packages_named("rand")) == ["crypto/rand", "math/rand", "math/rand/v2"]


def test_version_and_platform_lines(api):
    assert api.version.startswith("go1.")
    # O_RDONLY only exists as platform-specific lines; linux-amd64 is preferred
    assert api.const_type("syscall", "SIGTERM") == "syscall.Signal"
    assert api.const_type("os", "O_RDONLY") == "int"


def test_types_identical():
    assert stdapi.types_identical("[]byte", "[]uint8")
    assert stdapi.types_identical("func(rune) bool", "func(int32) bool")
    assert stdapi.types_identical("any", "interface{}")
    assert not stdapi.types_identical("[]byte", "[]int8")
    assert not stdapi.types_identical("io.Reader", "io.Writer")


def test_package_name():
    assert stdapi.package_name("math/rand/v2") == "rand"
    assert stdapi.package_name("net/http") == "http"
    assert stdapi.package_name("os") == "os"


# --------------------------------------------------------------------------
# shipped table vs a fresh parse of the installed GOROOT
# --------------------------------------------------------------------------


@needs_goroot
def test_shipped_matches_installed_goroot(shipped, parsed_real):
    if shipped.version != parsed_real.version:
        pytest.skip(f"installed Go {parsed_real.version} != shipped {shipped.version}")
    fresh = stdapi.dump_table(stdapi.parse_goroot(GOROOT))
    assert fresh == stdapi.shipped_path().read_text(encoding="utf-8"), (
        "shipped stdapi.json is stale: run tools/gen_stdapi.py"
    )


@needs_goroot
def test_gen_tool_check_mode(tmp_path):
    out = tmp_path / "out.json"
    tool = REPO / "tools" / "gen_stdapi.py"
    r = subprocess.run([sys.executable, str(tool), "--goroot", GOROOT, "--check", "--out", str(out)],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 1  # missing file is "out of date"
    r = subprocess.run([sys.executable, str(tool), "--goroot", GOROOT, "--out", str(out)],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = out.read_text(encoding="utf-8")
    assert json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True, ensure_ascii=False) == text
    assert json.loads(text)["version"] == stdapi.parse_goroot(GOROOT)["version"]
    r = subprocess.run([sys.executable, str(tool), "--goroot", GOROOT, "--check", "--out", str(out)],
                       check=False, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_shipped_json_is_compact():
    text = stdapi.shipped_path().read_text(encoding="utf-8")
    assert "\n" not in text
    assert json.dumps(json.loads(text), separators=(",", ":"), sort_keys=True, ensure_ascii=False) == text
    assert len(text.encode()) < 1_000_000


def test_load_none_is_shipped_and_memoized():
    a = stdapi.load(None)
    assert a.source == "shipped"
    assert stdapi.load(None) is a
    assert a.func_results("net/http", "Get") == ["*net/http.Response", "error"]


def test_shipped_load_is_fast():
    stdapi.load(None)  # warm the OS page cache
    best = float("inf")
    for _ in range(5):
        stdapi.clear_memo()
        t = time.perf_counter()
        stdapi.load(None)
        best = min(best, time.perf_counter() - t)
    assert best < 0.1, f"loading the shipped table took {best * 1000:.1f} ms"


# --------------------------------------------------------------------------
# parser behaviour on a synthetic GOROOT
# --------------------------------------------------------------------------

FAKE_GO1 = """\
pkg io, type Reader interface { Read }
pkg io, type Reader interface, Read([]uint8) (int, error)
pkg text/template, type FuncMap map[string]interface{}
pkg html/template, type Template struct
pkg html/template, type FuncMap = template.FuncMap
pkg html/template, method (*Template) Funcs(template.FuncMap) *Template
pkg go/scanner, type ErrorList []*Error
pkg go/scanner, type Error struct
pkg text/scanner, type Scanner struct
pkg text/scanner, type Position struct
pkg go/parser, func ParseExpr(string) (ast.Expr, error)
pkg go/parser, func Errs() scanner.ErrorList
pkg go/parser, func Pos() scanner.Position
pkg go/parser, func Neither() scanner.Missing
pkg go/ast, type Expr interface { End, Pos }
pkg math/rand, type Rand struct
pkg math/rand/v2, type Rand struct
pkg crypto/rand, var Reader io.Reader
pkg testing/quick, func Value(*rand.Rand) bool
pkg crypto/rand, type Source struct
pkg math/rand, type Source interface { Int63 }
pkg math/rand, func FromCrypto(*rand.Source) Source
pkg demo, func Old() int
pkg demo, func Removed() int
pkg demo, func Issue() string #12345
pkg demo, type S struct
pkg demo, type S struct, Name string
pkg demo, type S struct, Gone int
pkg demo, type S struct, embedded *Inner
pkg demo, type Inner struct
pkg demo, type Inner struct, Depth int
pkg demo, method (*Inner) Walk() error
pkg demo (windows-amd64), func Plat() uintptr
pkg demo (linux-amd64), func Plat() int
pkg demo (plan9-386), func OnlyPlan9() int
pkg demo (plan9-386), func Plat() string
pkg demo, var V *S
"""

FAKE_FILES = {
    "go1.txt": FAKE_GO1,
    "go1.2.txt": "pkg demo, func Old() (int, error)\n",
    "go1.9.txt": "pkg demo, func Order() nine\n",
    "go1.10.txt": "pkg demo, func Order() ten\npkg demo, type S struct, Gone //deprecated\n",
    "except.txt": "pkg demo, func Removed() int\npkg demo, type S struct, Gone int\n",
    "README": "not an api file\n",
}


@pytest.fixture
def fake_goroot(tmp_path):
    root = tmp_path / "goroot"
    api = root / "api"
    (api / "next").mkdir(parents=True)
    for name, text in FAKE_FILES.items():
        (api / name).write_text(text, encoding="utf-8")
    (api / "next" / "99999.txt").write_text("pkg demo, func Next() int\n", encoding="utf-8")
    return root


def test_fake_goroot_parsing(fake_goroot):
    api = stdapi.StdAPI(stdapi.parse_goroot(fake_goroot))
    assert api.version == "go1.10"
    assert [p.name for p in stdapi.api_files(fake_goroot)] == ["go1.txt", "go1.2.txt", "go1.9.txt", "go1.10.txt"]
    assert api.func_results("demo", "Old") == ["int", "error"]  # later file wins
    assert api.func_results("demo", "Order") == ["demo.ten"]  # numeric, not lexical, order
    assert api.func_results("demo", "Removed") is None  # except.txt
    assert api.field_type("demo.S", "Gone") is None  # except.txt (and //deprecated marker ignored)
    assert api.func_results("demo", "Issue") == ["string"]  # "#12345" stripped
    assert api.func_results("demo", "Next") is None  # api/next ignored
    assert api.func_results("demo", "Plat") == ["int"]  # linux-amd64 preferred
    assert api.func_results("demo", "OnlyPlan9") is None  # unlisted platform
    assert api.var_type("demo", "V") == "*demo.S"
    assert api.field_type("*demo.S", "Inner") == "*demo.Inner"
    assert api.field_type("demo.S", "Depth") == "int"  # promoted
    assert api.method_results("demo.S", "Walk") == ["error"]  # promoted from *Inner
    assert api.method_params("io.Reader", "Read") == ["[]byte"]
    assert api.func_results("go/parser", "ParseExpr") == ["go/ast.Expr", "error"]


def test_fake_goroot_ambiguous_names(fake_goroot):
    api = stdapi.StdAPI(stdapi.parse_goroot(fake_goroot))
    # own package excluded: template.X inside html/template is text/template
    assert api.method_params("*html/template.Template", "Funcs") == ["text/template.FuncMap"]
    assert api.resolve_alias("html/template.FuncMap") == "text/template.FuncMap"
    # the declared type name beats the preference list (which says text/scanner)...
    assert api.func_results("go/parser", "Errs") == ["go/scanner.ErrorList"]
    assert api.func_results("go/parser", "Pos") == ["text/scanner.Position"]
    # ...which decides when nobody (or several packages) declare the name
    assert api.func_results("go/parser", "Neither") == ["text/scanner.Missing"]
    assert api.func_params("testing/quick", "Value") == ["*math/rand.Rand"]
    # "rand.Source" written inside math/rand is another package's Source, even
    # though the preference list would pick math/rand
    assert api.func_params("math/rand", "FromCrypto") == ["*crypto/rand.Source"]
    assert api.func_results("math/rand", "FromCrypto") == ["math/rand.Source"]
    assert api.packages_named("template") == ["html/template", "text/template"]


# --------------------------------------------------------------------------
# load(): user cache
# --------------------------------------------------------------------------


def _cache_dir(tmp_path) -> Path:
    return tmp_path / "xdg-cache" / "toolexec-rehab"


def test_load_writes_cache_atomically(fake_goroot, tmp_path):
    api = stdapi.load(fake_goroot)
    assert api.source == "parsed"
    assert api.func_results("demo", "Old") == ["int", "error"]
    cdir = _cache_dir(tmp_path)
    files = sorted(p.name for p in cdir.iterdir())
    cpath = stdapi.cache_path_for(fake_goroot)
    assert files == [cpath.name]  # no temp files left behind
    assert cpath.name.startswith("stdapi-") and len(cpath.stem) == len("stdapi-") + 16
    assert stat.S_IMODE(cdir.stat().st_mode) == 0o700
    assert stat.S_IMODE(cpath.stat().st_mode) == 0o600
    assert json.loads(cpath.read_text())["version"] == "go1.10"
    assert stdapi.load(fake_goroot) is api  # memoized


def test_cache_hit_writes_nothing(fake_goroot, tmp_path, monkeypatch):
    stdapi.load(fake_goroot)
    cdir = _cache_dir(tmp_path)
    before = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in cdir.iterdir()}
    stdapi.clear_memo()

    def boom(*a, **k):
        raise AssertionError("cache hit must not parse the api files")

    monkeypatch.setattr(stdapi, "parse_goroot", boom)
    monkeypatch.setattr(stdapi, "_write_atomic", boom)
    api = stdapi.load(fake_goroot)
    assert api.source == "cache"
    assert api.func_results("demo", "Old") == ["int", "error"]
    after = {p.name: (p.stat().st_mtime_ns, p.stat().st_ino) for p in cdir.iterdir()}
    assert after == before


def test_cache_key_tracks_api_files(fake_goroot):
    k1 = stdapi.cache_path_for(fake_goroot)
    f = fake_goroot / "api" / "go1.2.txt"
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert stdapi.cache_path_for(fake_goroot) != k1


@pytest.mark.parametrize("garbage", [b"{not json", b"", b'{"format":0,"version":"x","pkgs":{}}', b"[1,2]"])
def test_corrupt_cache_is_rebuilt(fake_goroot, garbage):
    cpath = stdapi.cache_path_for(fake_goroot)
    cpath.parent.mkdir(parents=True, exist_ok=True)  # cache_path_for made it (private, 0700)
    cpath.write_bytes(garbage)
    api = stdapi.load(fake_goroot)
    assert api.source == "parsed"
    assert api.func_results("demo", "Old") == ["int", "error"]
    assert json.loads(cpath.read_text())["format"] == stdapi.FORMAT


def test_corrupt_cache_and_failed_parse_fall_back_to_shipped(fake_goroot, monkeypatch):
    cpath = stdapi.cache_path_for(fake_goroot)
    cpath.parent.mkdir(parents=True, exist_ok=True)  # cache_path_for made it (private, 0700)
    cpath.write_bytes(b"\x00garbage")

    def boom(*a, **k):
        raise ValueError("unparseable")

    monkeypatch.setattr(stdapi, "parse_goroot", boom)
    api = stdapi.load(fake_goroot)
    assert api.source == "shipped"
    assert api.func_results("net/http", "Get") == ["*net/http.Response", "error"]
    assert api.func_results("demo", "Old") is None


def test_unwritable_cache_still_uses_parsed_table(fake_goroot, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    api = stdapi.load(fake_goroot)
    assert api.source == "parsed"
    assert api.func_results("demo", "Old") == ["int", "error"]


def test_goroot_without_api_files_uses_shipped(tmp_path):
    api = stdapi.load(tmp_path / "empty-goroot")
    assert api.source == "shipped"
    assert list((tmp_path / "xdg-cache").glob("**/*.json")) == []


@needs_goroot
def test_load_real_goroot_then_cache(tmp_path):
    a = stdapi.load(GOROOT)
    assert a.source == "parsed"
    stdapi.clear_memo()
    b = stdapi.load(GOROOT)
    assert b.source == "cache"
    assert b.method_results("*database/sql.DB", "Query") == ["*database/sql.Rows", "error"]
    assert b.version == a.version


@pytest.mark.parametrize(
    "params,results,tparams",
    [
        ([], [], []),
        (["string"], ["*net/http.Response", "error"], []),
        (["func(int, string) (bool, error)", "...interface{}"], ["map[string][]string"], []),
        (["$0", "func($1, $2) bool"], ["<-chan struct{}"], ["interface{ ~map[$1]$2 }", "comparable", "interface{}"]),
        (["[4]byte"], ["func()"], []),
    ],
)
def test_sig_roundtrip(params, results, tparams):
    enc = stdapi.encode_sig(params, results, tparams)
    assert stdapi.decode_sig(enc) == (params, results, tparams)


def test_returned_lists_are_copies(shipped):
    r = shipped.func_results("os", "Open")
    r.append("junk")
    assert shipped.func_results("os", "Open") == ["*os.File", "error"]
    m = shipped.method_results("*os.File", "Read")
    m.append("junk")
    assert shipped.method_results("*os.File", "Read") == ["int", "error"]
