"""The resource catalogue (patterns/resources.yaml) and types read from dependencies: a user
adds a resource with an entry and no code; a dependency's types come from its source in
the module cache, parsed once and kept on disk."""

import json
import os
import subprocess
import textwrap

import pytest
from helpers import BIN, go_env, rehab

from toolexec_rehab.errors import RuleError
from toolexec_rehab.rules import catalogue

# A company's own client: its handle is released with Release(), and a counter says how
# many are still held when the program ends.
ACME_DB = textwrap.dedent('''\
    package acmedb

    var Held int

    type Handle struct{ id int }

    func Open(id int) (*Handle, error) {
    	Held++
    	return &Handle{id: id}, nil
    }

    func (h *Handle) Get() int { return h.id * 2 }

    func (h *Handle) Release() { Held-- }
    ''')

ACME_MAIN = textwrap.dedent('''\
    package main

    import (
    	"fmt"

    	"example.com/acme/acmedb"
    )

    func lookup(id int) (int, error) {
    	h, err := acmedb.Open(id)
    	if err != nil {
    		return 0, err
    	}
    	return h.Get(), nil
    }

    func lookupSome(id int) (int, error) {
    	h, err := acmedb.Open(id)
    	if err != nil {
    		return 0, err
    	}
    	if id%2 == 0 {
    		return h.Get(), nil
    	}
    	v := h.Get()
    	h.Release()
    	return v, nil
    }

    func main() {
    	sum := 0
    	for i := 0; i < 10; i++ {
    		a, _ := lookup(i)
    		b, _ := lookupSome(i)
    		sum += a + b
    	}
    	fmt.Printf("sum=%d held=%d\\n", sum, acmedb.Held)
    }
    ''')


def _readme_entry() -> str:
    """The catalogue entry the README shows (README: Adding a resource)."""
    import re

    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")).read()
    return re.search(r"```yaml\n# myrules/resources.yaml\n(.*?)```", readme, re.S).group(1)


def _acme(tmp_path):
    root = tmp_path / "acme"
    (root / "acmedb").mkdir(parents=True)
    (root / "go.mod").write_text("module example.com/acme\n\ngo 1.22\n")
    (root / "acmedb" / "acmedb.go").write_text(ACME_DB)
    (root / "main.go").write_text(ACME_MAIN)
    rules = tmp_path / "myrules"
    rules.mkdir(mode=0o700)
    (rules / "resources.yaml").write_text(_readme_entry())
    return root, rules


def test_user_resource_entry_is_found_and_fixed_in_a_build(tmp_path):
    """An entry in a rule directory's resources.yaml, no Python: check reports both leaks, and
    the program built through the shim releases the handles of the function that never
    releases them. The other function releases on one path; a second Release of this type is
    not known to be harmless (the entry does not say idempotent), so it is reported, not fixed."""
    root, rules = _acme(tmp_path)
    env = go_env(REHAB_RULE_DIRS=str(rules))
    r = rehab("check", "--format", "json", "./...", cwd=root, env=env)
    assert r.returncode == 1, r.stdout + r.stderr
    got = {(f["line"], f["rule"], f["fixable"]): f for f in json.loads(r.stdout)}
    assert set(got) == {(10, "resource-not-released", True), (18, "resource-not-released", False)}, r.stdout
    assert got[(10, "resource-not-released", True)]["message"] == \
        "h from acmedb.Open is not released (Release) on every path (left open at line 14)"
    assert "h.Release() is called on another path" in got[(18, "resource-not-released", False)]["why_no_fix"]
    plain = subprocess.run(["go", "run", "."], cwd=root, env=go_env(), capture_output=True, text=True, check=True)
    assert plain.stdout.strip() == "sum=180 held=15"
    fixed = subprocess.run(["go", "run", "."], cwd=root, capture_output=True, text=True, check=True,
                           env={**env, "GOFLAGS": f"-toolexec={BIN}", "REHAB_VERBOSE": "1"})
    assert fixed.stdout.strip() == "sum=180 held=5", fixed.stdout + fixed.stderr
    assert fixed.stderr.count("patched resource-not-released") == 1, fixed.stderr
    # without the entry there is nothing to find
    r = rehab("check", "./...", cwd=root, env=go_env())
    assert "acmedb.Open" not in r.stdout


@pytest.mark.parametrize("text, where, what", [
    ("resources:\n  x:\n    type: \"*a.T\"\n    colour: red\n", 4, "unknown key"),
    ("resources:\n  x:\n    type: Rows\n", 3, "canonical type"),
    ("resources:\n  x:\n    type: \"*a.T\"\n    release: [close]\n", 4, "exported method"),
    ("resources:\n  x:\n    type: \"*a.T\"\n    handle: \"{{ v }}.Body\"\n", 4, "{{ var }}"),
    ("calls:\n  keep: [a.B]\n", 2, "unknown"),
    ("resources: [1, 2]\n", 1, "mapping"),
])
def test_bad_catalogue_entries_name_file_and_line(tmp_path, text, where, what):
    p = tmp_path / "resources.yaml"
    p.write_text(text)
    with pytest.raises(RuleError) as e:
        catalogue.parse(str(p), text)
    assert f"{p}:{where}:" in str(e.value) and what in str(e.value)


def test_bad_user_catalogue_is_an_error_of_check(tmp_path):
    root, rules = _acme(tmp_path)
    r = rehab("rules", "validate", str(rules), cwd=root)
    assert r.returncode == 0 and "ok  acme-handle" in r.stdout, r.stdout + r.stderr
    (rules / "resources.yaml").write_text("resources:\n  x:\n    type: \"*a.T\"\n    release: Close()\n")
    r = rehab("rules", "validate", str(rules), cwd=root)
    assert r.returncode == 2 and "resources.yaml:4: x.release: exported method names" in r.stderr, r.stderr
    (rules / "resources.yaml").write_text("resources:\n  sql-rows:\n    type: \"*database/sql.Rows\"\n")
    r = rehab("check", "./...", cwd=root, env=go_env(REHAB_RULE_DIRS=str(rules)))
    assert r.returncode == 2 and "resources.yaml:2: resource 'sql-rows' is already defined" in r.stderr, r.stderr


def test_shipped_catalogue_is_what_the_rules_and_tracer_read():
    cat = catalogue.load()
    ids = {r.id for r in cat.resources}
    assert {"sql-rows", "sql-tx", "sql-conn", "pgx-rows", "pgxpool-conn", "net-conn", "net-listener",
            "time-ticker", "zip-readcloser", "gzip-reader", "http-body", "os-file"} <= ids
    from toolexec_rehab.rules.loader import all_rules

    rules = {r.id for r in all_rules()}
    assert cat.rules() <= rules, cat.rules() - rules
    from toolexec_rehab.runtime.trace import closers

    assert "database/sql.(*Rows).Close" in closers() and "net/http.(*bodyEOFSignal).Close" in closers()
    tx = next(r for r in cat.resources if r.id == "sql-tx")
    assert tx.release == ("Rollback", "Commit") and tx.rule == "tx-not-finished"


# ------------------------------------------------------------------ dependency types

DEP = textwrap.dedent('''\
    package dep

    import "database/sql"

    type Rows struct {
    	*sql.Rows
    	n int
    }

    type Alias = Rows

    func Query(db *sql.DB) (*Rows, error) {
    	r, err := db.Query("SELECT 1")
    	return &Rows{Rows: r}, err
    }

    func QueryAlias(db *sql.DB) (*Alias, error) { return Query(db) }
    ''')

USER = textwrap.dedent('''\
    package app

    import (
    	"database/sql"

    	"example.com/dep"
    )

    func Count(db *sql.DB) (int, error) {
    	rows, err := dep.Query(db)
    	if err != nil {
    		return 0, err
    	}
    	n := 0
    	for rows.Next() {
    		n++
    	}
    	return n, nil
    }

    func CountAlias(db *sql.DB) (int, error) {
    	rows, err := dep.QueryAlias(db)
    	if err != nil {
    		return 0, err
    	}
    	defer rows.Close()
    	return 0, nil
    }
    ''')


def _dep_module(tmp_path, with_source=True):
    cache = tmp_path / "modcache"
    if with_source:
        d = cache / "example.com" / "dep@v1.2.3"
        d.mkdir(parents=True)
        (d / "go.mod").write_text("module example.com/dep\n\ngo 1.22\n")
        (d / "dep.go").write_text(DEP)
    root = tmp_path / "app"
    root.mkdir()
    (root / "go.mod").write_text("module example.com/app\n\ngo 1.22\n\nrequire example.com/dep v1.2.3\n")
    (root / "app.go").write_text(USER)
    return root, cache


def test_dependency_types_come_from_the_module_cache_and_are_kept_on_disk(tmp_path):
    root, cache = _dep_module(tmp_path)
    xdg = tmp_path / "xdg"
    env = go_env(GOMODCACHE=str(cache), XDG_CACHE_HOME=str(xdg), GOFLAGS="-mod=mod")
    r = rehab("check", "--format", "json", ".", cwd=root, env=env)
    found = [(d["rule"], d["line"]) for d in json.loads(r.stdout)]
    # the rows loop's Err is not checked either: dep.Rows embeds *sql.Rows
    assert found == [("rows-not-closed", 10), ("rows-err-not-checked", 15)], r.stdout + r.stderr
    kept = list((xdg / "toolexec-rehab" / "deptypes").glob("*.json"))
    assert len(kept) == 1
    entry = json.loads(kept[0].read_text())
    assert entry["t"]["Rows"]["e"] == ["Rows"] and entry["t"]["Rows"]["fl"]["Rows"] == "*database/sql.Rows"
    assert entry["t"]["Alias"] == {"k": "a", "u": "example.com/dep.Rows"}
    # the kept entry is what a second run reads: plant a marker type in it and ask for it
    entry["t"]["Rows"]["e"], entry["t"]["Rows"]["fl"] = [], {}
    kept[0].write_text(json.dumps(entry))
    # (without check's result cache, which would give the first run's findings: a module
    # version is immutable, so the entry is never expected to change under it)
    r = rehab("check", "--format", "json", ".", cwd=root, env={**env, "REHAB_RESULT_CACHE": "off"})
    assert json.loads(r.stdout) == [], "the second run parsed the source again"


def test_missing_dependency_source_is_said_once_and_never_fails(tmp_path):
    root, cache = _dep_module(tmp_path, with_source=False)
    env = go_env(GOMODCACHE=str(cache), XDG_CACHE_HOME=str(tmp_path / "xdg"), GOFLAGS="-mod=mod")
    r = rehab("check", ".", cwd=root, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.count("example.com/dep@v1.2.3 is not downloaded") == 1, r.stderr


def test_srcapi_reads_generics_interfaces_and_embedding():
    from toolexec_rehab.golang.package import load_file
    from toolexec_rehab.golang.srcapi import package_table

    src = textwrap.dedent('''\
        package p

        import "io"

        type Closer interface {
        	io.Reader
        	Close() error
        }

        type Pool[T any] struct{ items []T }

        func (p *Pool[T]) Get() (T, error) { var z T; return z, nil }

        func New[T any](n int) *Pool[T] { return nil }

        type unexported struct{ io.ReadCloser }

        func Make() *unexported { return nil }

        var Default = &Pool[int]{}
        ''').encode()
    f = load_file("/nonexistent/p.go", src=src)
    t = package_table("example.com/p", [f])
    assert t["t"]["Closer"] == {"k": "i", "m": {"Close": "()(error)"}, "fl": {"Reader": "io.Reader"}, "e": ["Reader"]}
    assert t["t"]["Pool"]["p"]["Get"] == "()($0,error)" and t["t"]["Pool"]["tp"] == ["interface{}"]
    assert t["f"]["New"] == "[interface{}](int)(*example.com/p.Pool[$0])"
    assert t["t"]["unexported"]["e"] == ["ReadCloser"] and t["f"]["Make"] == "()(*example.com/p.unexported)"
    assert t["v"]["Default"] == "*example.com/p.Pool[int]"
    assert "items" not in t["t"]["Pool"].get("fl", {})


def test_deps_world_is_std_outside_a_module(tmp_path):
    from toolexec_rehab.golang import deps, stdapi

    std = stdapi.load()
    assert deps.world(std, str(tmp_path)) is std
    os.makedirs(tmp_path / "m")
    (tmp_path / "m" / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    w = deps.world(std, str(tmp_path / "m"))
    assert w is not std and w.has_package("net/http") and not w.has_package("example.com/none")


def test_a_copied_rule_must_name_its_resources(tmp_path):
    """`acquires: {}` tracks the entries whose rule is this rule: a shipped rule copied under a
    new id has none, and says so with file:line instead of finding nothing."""
    from toolexec_rehab.paths import builtin_dirs

    rules = tmp_path / "rules"
    rules.mkdir()
    y = open(os.path.join(builtin_dirs()[0], "file-not-closed.yaml")).read().replace(
        "id: file-not-closed", "id: mine", 1)
    (rules / "mine.yaml").write_text(y)
    line = y.splitlines().index("    - acquires: {}") + 1
    r = rehab("rules", "validate", str(rules))
    assert r.returncode == 2 and f"mine.yaml:{line}: acquires: no catalogue entry has rule: mine" in r.stderr, r.stderr
    (rules / "mine.yaml").write_text(y.replace("- acquires: {}", "- acquires: {resources: [os-fil]}"))
    r = rehab("rules", "validate", str(rules))
    assert r.returncode == 2 and "acquires: no resource 'os-fil' in the catalogue" in r.stderr, r.stderr
    (rules / "mine.yaml").write_text(y.replace("- acquires: {}", "- acquires: {resources: [os-file]}"))
    r = rehab("rules", "validate", str(rules))
    assert r.returncode == 0, r.stdout + r.stderr


GETTERS = textwrap.dedent('''\
    package app

    import (
    	"database/sql"
    	"os"
    	"sync"
    )

    type Rows struct{ *sql.Rows }

    type Cache struct {
    	mu    sync.Mutex
    	files map[string]*os.File
    	keep  *sql.Rows
    	db    *sql.DB
    }

    func (c *Cache) lookup(name string) *os.File { return c.files[name] }

    // file hands out a file the cache keeps, through a call
    func (c *Cache) file(name string) (*os.File, error) {
    	f := c.lookup(name)
    	return f, nil
    }

    // wrapped wraps rows the cache keeps
    func (c *Cache) wrapped() (*Rows, error) { return &Rows{Rows: c.keep}, nil }

    // fresh makes new rows: an acquisition
    func (c *Cache) fresh() (*Rows, error) {
    	r, err := c.db.Query("SELECT 1")
    	if err != nil {
    		return nil, err
    	}
    	return &Rows{Rows: r}, nil
    }

    func Use(c *Cache) (int, error) {
    	f, err := c.file("a")
    	if err != nil {
    		return 0, err
    	}
    	st, err := f.Stat()
    	if err != nil {
    		return 0, err
    	}
    	w, err := c.wrapped()
    	if err != nil {
    		return 0, err
    	}
    	_ = w.Next()
    	r, err := c.fresh()
    	if err != nil {
    		return 0, err
    	}
    	_ = r.Next()
    	return int(st.Size()), nil
    }
    ''')


def test_a_getter_of_a_kept_resource_is_not_an_acquisition(tmp_path):
    """A function of the module counts as an acquisition only when each of its returns gives
    a value it made: closing what a getter hands out would break the program that keeps it."""
    (tmp_path / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (tmp_path / "app.go").write_text(GETTERS)
    r = rehab("check", "--format", "json", "--rules", "rows-not-closed,file-not-closed", ".", cwd=tmp_path)
    found = [(d["rule"], d["line"], d["message"].split(" is ")[0]) for d in json.loads(r.stdout)]
    assert found == [("rows-not-closed", 52, "r from c.fresh")], r.stdout + r.stderr


WRAPPED_WITH_FIELDS = textwrap.dedent('''\
    package app

    import "database/sql"

    type Rows struct {
    	*sql.Rows
    	limit int
    	name  string
    	ok    bool
    }

    type Store struct {
    	db   *sql.DB
    	keep *sql.Rows
    }

    // query makes new rows, beside constants and a comparison: an acquisition
    func (s *Store) query(dsn string) (*Rows, error) {
    	r, err := s.db.Query("SELECT 1")
    	if err != nil {
    		return nil, err
    	}
    	return &Rows{Rows: r, limit: 10, name: "q", ok: dsn != ""}, nil
    }

    // kept wraps rows the store keeps, beside a constant: not an acquisition
    func (s *Store) kept() (*Rows, error) { return &Rows{Rows: s.keep, limit: 3}, nil }

    func Use(s *Store) bool {
    	a, err := s.query("x")
    	if err != nil {
    		return false
    	}
    	b, err := s.kept()
    	if err != nil {
    		return false
    	}
    	return a.Next() && b.Next()
    }
    ''')


def test_a_wrapper_made_with_constant_fields_is_made_here(tmp_path):
    """`&Rows{Rows: r, limit: 10}`: a constant or a comparison beside the resource does not
    make the literal less fresh (it made the module's wrapper look like a getter's)."""
    (tmp_path / "go.mod").write_text("module example.com/app\n\ngo 1.22\n")
    (tmp_path / "app.go").write_text(WRAPPED_WITH_FIELDS)
    r = rehab("check", "--format", "json", "--rules", "rows-not-closed", ".", cwd=tmp_path)
    found = [(d["rule"], d["line"], d["fixable"]) for d in json.loads(r.stdout)]
    assert found == [("rows-not-closed", 30, True)], r.stdout + r.stderr


def test_deps_refresh_reads_a_local_replace_again_and_keeps_the_module_cache(tmp_path):
    """A long-lived process (the language server) calls deps.refresh() before an analysis:
    a local replace's edited API is seen, as is a dependency that appeared; without it the
    process keeps what it read."""
    from toolexec_rehab.golang import deps, stdapi

    std = stdapi.load()
    dep = tmp_path / "dep"
    dep.mkdir()
    (dep / "go.mod").write_text("module example.org/dep\n\ngo 1.22\n")
    (dep / "dep.go").write_text("package dep\n\nfunc Open() (int, error) { return 0, nil }\n")
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "go.mod").write_text("module example.com/m\n\ngo 1.22\n\nrequire (\n\texample.org/dep v0.0.0\n"
                                           "\texample.org/later v0.0.0\n)\n\nreplace example.org/dep => ../dep\n\n"
                                           "replace example.org/later => ../later\n")
    w = deps.world(std, str(tmp_path / "m"))
    assert w.func_results("example.org/dep", "Open") == ["int", "error"]
    assert not w.has_package("example.org/later")
    (dep / "dep.go").write_text("package dep\n\nfunc Open() (string, error) { return \"\", nil }\n")
    later = tmp_path / "later"
    later.mkdir()
    (later / "go.mod").write_text("module example.org/later\n\ngo 1.22\n")
    (later / "later.go").write_text("package later\n\nfunc New() int { return 1 }\n")
    assert w.func_results("example.org/dep", "Open") == ["int", "error"]  # kept until asked
    deps.refresh()
    assert w.func_results("example.org/dep", "Open") == ["string", "error"]
    assert w.func_results("example.org/later", "New") == ["int"]
