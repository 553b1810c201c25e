"""check's result cache (resultcache.py): a package's findings are reused only while its
files, the settings and rules, and every package its analysis read are unchanged. Never
stale: each test changes one input and checks that the findings follow, against a run
without the cache; and that packages the change does not reach keep their entries."""

from __future__ import annotations

import json
import os
import pickle
import textwrap

from helpers import go_env, rehab
from test_catalogue import _acme

from toolexec_rehab.resultcache import FORMAT, ResultCache

OPENER = textwrap.dedent("""\
    package store

    import "os"

    // Open hands over a file it made: its caller owns it.
    func Open(p string) (*os.File, error) {
    	return os.Open(p)
    }
    """)

NOT_AN_OPENER = textwrap.dedent("""\
    package store

    // Open now returns a name, no file.
    func Open(p string) (string, error) {
    	return p, nil
    }
    """)

USER = textwrap.dedent("""\
    package user

    import "example.com/rc/store"

    func Name(p string) (string, error) {
    	f, err := store.Open(p)
    	if err != nil {
    		return "", err
    	}
    	return fmtName(f), nil
    }
    """)

USER_HELPER = textwrap.dedent("""\
    package user

    import "fmt"

    func fmtName(v any) string { return fmt.Sprint(v) }
    """)

OTHER = textwrap.dedent("""\
    package other

    import "os"

    func Size(p string) (int64, error) {
    	f, err := os.Open(p)
    	if err != nil {
    		return 0, err
    	}
    	st, err := f.Stat()
    	if err != nil {
    		return 0, err
    	}
    	return st.Size(), nil
    }
    """)


def _module(tmp_path):
    root = tmp_path / "rc"
    for d in ("store", "user", "other"):
        (root / d).mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/rc\n\ngo 1.22\n")
    (root / "store" / "store.go").write_text(OPENER)
    (root / "user" / "user.go").write_text(USER)
    (root / "user" / "helper.go").write_text(USER_HELPER)
    (root / "other" / "other.go").write_text(OTHER)
    return root


def _env(tmp_path, **extra):
    return go_env(**{"XDG_CACHE_HOME": str(tmp_path / "cache"), "REHAB_SERVER": "off", "REHAB_RESULT_CACHE": "on",
                     **extra})


def _entries(tmp_path) -> dict[str, int]:
    d = tmp_path / "cache" / "toolexec-rehab" / "results"
    return {e.name: e.stat().st_ino for e in os.scandir(d)} if d.is_dir() else {}


def _check(root, env) -> list[tuple]:
    r = rehab("check", "--format", "json", "./...", cwd=root, env=env)
    assert r.returncode in (0, 1), r.stdout + r.stderr
    return sorted((f["file"], f["line"], f["rule"], f["message"], f["fixable"], f["node_id"]) for f in json.loads(r.stdout))


def _both(root, tmp_path, **extra):
    """The findings with the cache, and the same run without it: they must agree."""
    cached = _check(root, _env(tmp_path, **extra))
    fresh = _check(root, _env(tmp_path, REHAB_RESULT_CACHE="off", **extra))
    assert cached == fresh
    return cached


def test_a_repeated_check_reuses_every_entry_and_finds_the_same(tmp_path):
    root = _module(tmp_path)
    first = _both(root, tmp_path)
    assert {(f, line) for f, line, *_ in first} == {("./user/user.go", 6), ("./other/other.go", 6)}, first
    kept = _entries(tmp_path)
    assert len(kept) == 3  # one per package directory
    assert _check(root, _env(tmp_path)) == first
    assert _entries(tmp_path) == kept  # nothing written again: every package came from the cache


def test_an_edit_of_a_package_changes_the_findings_of_the_packages_that_read_it(tmp_path):
    root = _module(tmp_path)
    assert any(f == "./user/user.go" for f, *_ in _both(root, tmp_path))
    before = _entries(tmp_path)
    # store.Open no longer hands over a file: user's finding goes, though user's files are the same
    (root / "store" / "store.go").write_text(NOT_AN_OPENER)
    after = _both(root, tmp_path)
    assert not any(f == "./user/user.go" for f, *_ in after), after
    assert any(f == "./other/other.go" for f, *_ in after)
    now = _entries(tmp_path)
    # store has a new key; user's key is the same but its entry was found stale and written
    # again; other read nothing of store: its entry is the one written first (as is store's old one)
    assert len(set(now) - set(before)) == 1, (before, now)
    assert len([k for k in before if now.get(k) not in (None, before[k])]) == 1, (before, now)
    assert len([k for k in before if now.get(k) == before[k]]) == 2, (before, now)
    # and back: the first findings again
    (root / "store" / "store.go").write_text(OPENER)
    assert any(f == "./user/user.go" for f, *_ in _both(root, tmp_path))


def test_an_edit_of_a_file_is_seen_and_a_new_file_joins_its_package(tmp_path):
    root = _module(tmp_path)
    _both(root, tmp_path)
    (root / "other" / "other.go").write_text(OTHER.replace("st, err := f.Stat()", "defer f.Close()\n\tst, err := f.Stat()"))
    assert not any(f == "./other/other.go" for f, *_ in _both(root, tmp_path))
    (root / "other" / "more.go").write_text(OTHER.replace("func Size", "func Size2"))
    assert [(f, line) for f, line, *_ in _both(root, tmp_path) if f.startswith("./other/")] == [("./other/more.go", 6)]


def test_a_rule_or_a_setting_change_changes_the_findings(tmp_path):
    root, rules = _acme(tmp_path)
    env = {"REHAB_RULE_DIRS": str(rules)}
    first = _both(root, tmp_path, **env)
    assert any("(Release)" in msg for *_, msg, _, _ in first), first
    # the user's catalogue entry now says the handle is released with Close
    text = (rules / "resources.yaml").read_text()
    assert "Release" in text
    (rules / "resources.yaml").write_text(text.replace("Release", "Close"))
    second = _both(root, tmp_path, **env)
    assert second != first and not any("(Release)" in msg for *_, msg, _, _ in second), second
    # a setting: only one rule
    only = _both(root, tmp_path, REHAB_RULES="lost-cancel", **env)
    assert only == []


def test_a_local_dependency_change_changes_the_findings(tmp_path):
    """A dependency replaced by a local directory can change without go.mod changing."""
    root = _module(tmp_path)
    dep = tmp_path / "dep"
    dep.mkdir()
    (dep / "go.mod").write_text("module example.org/dep\n\ngo 1.22\n")
    (dep / "dep.go").write_text(OPENER.replace("package store", "package dep"))
    (root / "go.mod").write_text("module example.com/rc\n\ngo 1.22\n\nrequire example.org/dep v0.0.0\n\n"
                                 f"replace example.org/dep => {dep}\n")
    (root / "user" / "user.go").write_text(USER.replace('"example.com/rc/store"', '"example.org/dep"')
                                           .replace("store.Open", "dep.Open"))
    first = _both(root, tmp_path)
    assert any(f == "./user/user.go" for f, *_ in first), first
    (dep / "dep.go").write_text(NOT_AN_OPENER.replace("package store", "package dep"))
    assert not any(f == "./user/user.go" for f, *_ in _both(root, tmp_path))


def test_a_file_that_does_not_parse_is_reported_every_time(tmp_path):
    root = _module(tmp_path)
    (root / "other" / "bad.go").write_text("package other\n\nfunc (\n")
    for _ in range(2):
        r = rehab("check", "./...", cwd=root, env=_env(tmp_path))
        assert r.returncode == 2 and "bad.go:" in r.stderr, r.stdout + r.stderr
    assert len(_entries(tmp_path)) == 2  # store and user; not other


def test_an_entry_is_read_back_as_findings_only(tmp_path, monkeypatch):
    """A planted or corrupt entry is a miss: nothing in it runs, and the package is analyzed."""
    root = _module(tmp_path)
    first = _both(root, tmp_path)
    marker = tmp_path / "ran"

    class Boom:
        def __reduce__(self):
            return (os.system, (f"touch {marker}",))

    for name in _entries(tmp_path):
        p = tmp_path / "cache" / "toolexec-rehab" / "results" / name
        p.write_bytes(pickle.dumps((FORMAT, [], [Boom()])))
    assert _check(root, _env(tmp_path)) == first
    assert not marker.exists()
    for name in _entries(tmp_path):
        (tmp_path / "cache" / "toolexec-rehab" / "results" / name).write_bytes(b"\x80\x05garbage")
    assert _check(root, _env(tmp_path)) == first


def test_the_unpickler_refuses_other_classes(tmp_path):
    import io

    data = pickle.dumps((FORMAT, [], [os.stat_result((0,) * 10)]))
    from toolexec_rehab.resultcache import _Unpickler

    try:
        _Unpickler(io.BytesIO(data)).load()
    except pickle.UnpicklingError as e:
        assert "not a finding's part" in str(e)
    else:
        raise AssertionError("os.stat_result was built")
    assert ResultCache  # the module's API


# ---------------------------------------------------------------- compiles (wrap._CompileCache)

NAMER = textwrap.dedent("""\
    package store

    import "os"

    // Name is no resource: it has Stat and no Close.
    type Name struct{ p string }

    func (n *Name) Stat() (os.FileInfo, error) { return os.Stat(n.p) }

    // Open returns a name.
    func Open(p string) (*Name, error) {
    	return &Name{p}, nil
    }
    """)

# the same package, but Open hands over a file: its caller owns it
FILER = NAMER.replace("// Open returns a name.\nfunc Open(p string) (*Name, error) {\n\treturn &Name{p}, nil",
                      "// Open hands over a file.\nfunc Open(p string) (*os.File, error) {\n\treturn os.Open(p)")
assert FILER != NAMER


SIZER = textwrap.dedent("""\
    package user

    import "example.com/rc/store"

    func Size(p string) (int64, error) {
    	f, err := store.Open(p)
    	if err != nil {
    		return 0, err
    	}
    	st, err := f.Stat()
    	if err != nil {
    		return 0, err
    	}
    	return st.Size(), nil
    }
    """)


def _build_module(tmp_path):
    root = tmp_path / "rc"
    for d in ("store", "user", "other"):
        (root / d).mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/rc\n\ngo 1.22\n")
    (root / "store" / "store.go").write_text(NAMER)
    (root / "user" / "user.go").write_text(SIZER)
    (root / "other" / "other.go").write_text(OTHER)
    return root


def _build(root, tmp_path, server: str) -> list[str]:
    """go build ./... through the shim: user's patch log lines (file:line of each fix; the
    other packages' compiles may come from the build cache)."""
    import subprocess

    from helpers import BIN

    env = _env(tmp_path, GOFLAGS=f"-toolexec={BIN}", REHAB_VERBOSE="1", REHAB_SERVER=server,
               XDG_RUNTIME_DIR=str(tmp_path / "run"), REHAB_SERVER_IDLE="20")
    (tmp_path / "run").mkdir(mode=0o700, exist_ok=True)
    r = subprocess.run(["go", "build", "./..."], cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    sites = ["/".join(line.split()[-1].split("/")[-2:]) for line in r.stderr.splitlines()
             if line.startswith("REHAB: patched")]
    return sorted(x for x in sites if x.startswith("user/"))


def _stop_server(tmp_path) -> None:
    import signal
    import subprocess

    r = subprocess.run(["pgrep", "-f", "toolexec-rehab"], capture_output=True, text=True)
    for pid in r.stdout.split():
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                mine = f"XDG_RUNTIME_DIR={tmp_path / 'run'}".encode() in fh.read().split(b"\0")
        except OSError:
            continue
        if mine:
            os.kill(int(pid), signal.SIGTERM)


def _compile_cache_walk(tmp_path, server: str) -> None:
    root = _build_module(tmp_path)
    try:
        assert _build(root, tmp_path, server) == []  # store.Open makes no file
        kept = _entries(tmp_path)
        assert kept, "the compiles kept no findings"
        # a function that nobody reads: only store is analyzed again; user's entry (same
        # files, and what it read of store is the same) answers its compile
        with open(root / "store" / "store.go", "a") as fh:
            fh.write("\nfunc Extra() int { return 1 }\n")
        assert _build(root, tmp_path, server) == []
        now = _entries(tmp_path)
        assert len(set(now) - set(kept)) == 1, (kept, now)  # store's new files: a new key
        assert all(now[k] == kept[k] for k in kept), (kept, now)  # user's entry neither stale nor rewritten
        # Open now hands over a file: user's files are the same, what it read is not; its
        # leak is found and fixed (a cached "nothing to fix" would have left it)
        (root / "store" / "store.go").write_text(FILER + "\nfunc Extra() int { return 1 }\n")
        assert _build(root, tmp_path, server) == ["user/user.go:6"]
        # an unrelated edit again: user's entry holds a fix, so its compile is analyzed and fixed again
        with open(root / "store" / "store.go", "a") as fh:
            fh.write("\nfunc Extra2() int { return 2 }\n")
        assert _build(root, tmp_path, server) == ["user/user.go:6"]
        # and back: the entry written with the file-maker is stale, no fix
        (root / "store" / "store.go").write_text(NAMER)
        assert _build(root, tmp_path, server) == []
    finally:
        _stop_server(tmp_path)


def test_a_compile_reuses_its_findings_while_what_it_read_is_the_same(tmp_path):
    _compile_cache_walk(tmp_path, "off")


def test_the_compile_server_answers_unchanged_compiles_itself(tmp_path):
    _compile_cache_walk(tmp_path, "on")


def test_a_setting_that_is_not_utf8_is_part_of_the_key(tmp_path):
    """An environment value or a path from the OS may hold any bytes (a Latin-1 directory in
    CGO_CFLAGS): the key takes them as they are, and the cache works."""
    root = _module(tmp_path)
    odd = {"CGO_CFLAGS": "-I/opt/caf\udce9/inc"}
    first = _both(root, tmp_path, **odd)
    kept = _entries(tmp_path)
    assert len(kept) == 3
    assert _check(root, _env(tmp_path, **odd)) == first
    assert _entries(tmp_path) == kept
    assert _check(root, _env(tmp_path, CGO_CFLAGS="-I/opt/cafe/inc")) == first
    assert len(_entries(tmp_path)) == 6  # another value, another key
