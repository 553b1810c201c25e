"""`toolexec-rehab check` driven as a user would, as a subprocess."""

import json
import os
import textwrap

import pytest
from helpers import LEAKY, rehab, tree_digest

CLEAN = LEAKY.replace("\treturn io.ReadAll(f)", "\tdefer f.Close()\n\treturn io.ReadAll(f)")


def _mod(tmp_path, body=LEAKY, name="p.go"):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    d = tmp_path / "p"
    d.mkdir()
    (d / name).write_text(body)
    return d


def test_text_format_is_go_vet_style(tmp_path):
    _mod(tmp_path)
    r = rehab("check", "./...", cwd=tmp_path)
    assert r.returncode == 1, r.stderr
    assert r.stdout.strip() == "./p/p.go:9:12: f from os.Open is not closed on every path (left open at line 13) (file-not-closed)"


def test_clean_exits_zero(tmp_path):
    _mod(tmp_path, CLEAN)
    r = rehab("check", "./...", cwd=tmp_path)
    assert (r.returncode, r.stdout) == (0, ""), r.stderr


def test_json_fields(tmp_path):
    _mod(tmp_path)
    r = rehab("check", "--format", "json", "p", cwd=tmp_path)
    assert r.returncode == 1
    (f,) = json.loads(r.stdout)
    assert {k: f[k] for k in ("rule", "file", "line", "column", "end_line", "fixable")} == {
        "rule": "file-not-closed", "file": "./p/p.go", "line": 9, "column": 12, "end_line": 9, "fixable": True}
    assert f["end_column"] == 25 and f["node_id"].startswith("ast-node-") and len(f["node_id"]) == 25


def test_file_argument_without_go_mod(tmp_path):
    p = tmp_path / "x.go"
    p.write_text(LEAKY)
    r = rehab("check", str(p), cwd=tmp_path)
    assert r.returncode == 1 and "file-not-closed" in r.stdout


def test_node_id_survives_unrelated_edits(tmp_path):
    d = _mod(tmp_path)
    first = json.loads(rehab("check", "--format", "json", "./...", cwd=tmp_path).stdout)[0]
    src = (d / "p.go").read_text()
    (d / "p.go").write_text(src.replace("import (", "// a comment\n\nvar _ = 1\n\nimport (", 1))
    second = json.loads(rehab("check", "--format", "json", "./...", cwd=tmp_path).stdout)[0]
    assert second["line"] == first["line"] + 4
    assert second["node_id"] == first["node_id"]
    # a second identical acquisition in the same function gets its own id
    (d / "p.go").write_text(src.replace("\treturn io.ReadAll(f)", "\tf, err = os.Open(name)\n\t_ = err\n\treturn io.ReadAll(f)"))
    ids = {x["node_id"] for x in json.loads(rehab("check", "--format", "json", "./...", cwd=tmp_path).stdout)}
    assert len(ids) == 2 and first["node_id"] in ids


def test_shadowed_and_aliased_imports(tmp_path):
    body = textwrap.dedent('''\
        package p

        import (
        	stdos "os"
        )

        type opener struct{}

        func (opener) Open(string) (*stdos.File, error) { return nil, nil }

        func A() {
        	os := opener{}
        	f, err := os.Open("x")
        	if err != nil {
        		return
        	}
        	_ = f
        }

        func B() {
        	f, err := stdos.Open("x")
        	if err != nil {
        		return
        	}
        	_ = f.Name()
        }
        ''')
    _mod(tmp_path, body)
    r = rehab("check", "--format", "json", "./...", cwd=tmp_path)
    lines = [f["line"] for f in json.loads(r.stdout)]
    assert lines == [21], r.stdout


def test_bad_inputs_exit_2_and_write_nothing(tmp_path):
    _mod(tmp_path)
    before = tree_digest(tmp_path)
    r = rehab("check", "--no-such-flag", cwd=tmp_path)
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr
    r = rehab("check", "missing/dir", cwd=tmp_path)
    assert r.returncode == 2 and "missing/dir" in r.stderr and "no such file" in r.stderr
    (tmp_path / "p" / "broken.go").write_text("package p\n\nfunc x( {\n")
    r = rehab("check", "./...", cwd=tmp_path)
    assert r.returncode == 2 and "broken.go:3:" in r.stderr, r.stderr
    os.remove(tmp_path / "p" / "broken.go")
    r = rehab("check", "--rules", "no-such-rule", "./...", cwd=tmp_path)
    assert r.returncode == 2 and "no-such-rule" in r.stderr
    assert tree_digest(tmp_path) == before


def test_grammar_gap_is_not_an_error(tmp_path):
    # valid Go 1.26 that tree-sitter-go 0.25 cannot parse: the file is skipped, the rest is checked
    _mod(tmp_path)
    (tmp_path / "p" / "newexpr.go").write_text("package p\n\nvar P = new(42)\n")
    r = rehab("check", "./...", cwd=tmp_path)
    assert r.returncode == 1 and "file-not-closed" in r.stdout and r.stderr == "", r.stderr


def test_types_from_other_packages_of_the_module(tmp_path):
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "store.go").write_text(textwrap.dedent('''\
        package store

        import "database/sql"

        type Store struct{ DB *sql.DB }

        func Open() (*Store, error) { return &Store{}, nil }

        func (s *Store) Handle() *sql.DB { return s.DB }
        '''))
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "app.go").write_text(textwrap.dedent('''\
        package app

        import "example.com/m/store"

        func Names() error {
        	st, err := store.Open()
        	if err != nil {
        		return err
        	}
        	rows, err := st.DB.Query("SELECT 1")
        	if err != nil {
        		return err
        	}
        	_ = rows
        	rows2, err := st.Handle().Query("SELECT 2")
        	if err != nil {
        		return err
        	}
        	_ = rows2
        	return nil
        }
        '''))
    r = rehab("check", "--rules", "rows-not-closed", "--format", "json", "./...", cwd=tmp_path)
    got = [(f["file"], f["line"]) for f in json.loads(r.stdout)]
    assert got == [("./app/app.go", 10), ("./app/app.go", 15)], r.stdout + r.stderr


BAD_RULES = {
    "syntax": ("id: x\nsummary: [unclosed\n", ":2:"),
    "unknown-key": ("id: unknown-key\nsummary: s\nrationale: r\nmessage: m\nmatch:\n  query: '(identifier) @call'\nbogus: 1\n",
                    ":7: bogus: unknown key"),
    "bad-query": ("id: bad-query\nsummary: s\nrationale: r\nmessage: m\nmatch:\n  query: '(no_such_node) @call'\n",
                  ":6: bad tree-sitter query"),
    "bad-cond": ("id: bad-cond\nsummary: s\nrationale: r\nmessage: m\nmatch:\n  query: '(identifier) @call'\n"
                 "  conditions:\n    - nope: {}\n", ":8: unknown condition 'nope'"),
    # a condition without what it reads: refused when loaded, not a KeyError at analysis time
    "leaks-alone": ("id: leaks-alone\nsummary: s\nrationale: r\nmessage: m\nmatch:\n  query: '(call_expression) @call'\n"
                    "  conditions:\n    - callee: {any_of: [os.Open]}\n    - leaks: {}\n",
                    ":9: condition 'leaks' needs always_leaks, close, discarded, err, function, handle, "
                    "not_fixable, release, releases_by, resource_id, stmt, var, "
                    "which no condition before it provides: put 'acquires' or 'resource' before it"),
    "bad-placement": ("id: bad-placement\nsummary: s\nrationale: r\nmessage: m\nmatch:\n"
                      "  query: '(call_expression) @call'\n  conditions:\n    - callee: {any_of: [os.Open]}\n"
                      "fix:\n  template: x.go.j2\n  placement: after-statement\n",
                      ":11: fix placement 'after-statement' needs stmt, which none of the rule's conditions provides"),
}


@pytest.mark.parametrize("name", sorted(BAD_RULES))
def test_bad_rule_file_names_file_and_line(tmp_path, name):
    text, expect = BAD_RULES[name]
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / f"{name}.yaml").write_text(text)
    _mod(tmp_path)
    r = rehab("check", "./...", cwd=tmp_path, env={"REHAB_RULE_DIRS": str(rules)})
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{rules}/{name}.yaml{expect}" in r.stderr, r.stderr


def test_rules_validate_names_a_condition_that_lacks_its_inputs(tmp_path):
    """`rules validate DIR`: a rule that uses `leaks` with no `resource` before it is refused with
    file:line and what is missing (by `check` too); in the right order the same rule validates."""
    rules = tmp_path / "myrules"
    (rules / "templates").mkdir(parents=True)
    (rules / "templates" / "my-file-rule.go.j2").write_text("; defer {{ handle }}.Close()\n")
    head = ("id: my-file-rule\nsummary: s\nrationale: r\nmessage: \"{{ handle }} is not closed\"\nmatch:\n"
            "  query: |\n    (call_expression) @call\n  conditions:\n"
            "    - callee: {any_of: [os.Open]}\n")
    tail = ("fix:\n  template: my-file-rule.go.j2\n  placement: after-error-check\nexamples:\n"
            "  - signature: \"func example(name string) error\"\n    before: |\n"
            "      f, err := os.Open(name)\n      if err != nil {\n      \treturn err\n      }\n"
            "      _, err = f.Stat()\n      return err\n"
            "    after: |\n"
            "      f, err := os.Open(name)\n      if err != nil {\n      \treturn err\n      }; defer f.Close()\n"
            "      _, err = f.Stat()\n      return err\n")
    y = rules / "my-file-rule.yaml"
    y.write_text(head + "    - leaks: {}\n    - resource: {type: \"*os.File\"}\n" + tail)
    r = rehab("rules", "validate", str(rules))
    assert r.returncode == 2, r.stdout + r.stderr
    assert f"{y}:10: condition 'leaks' needs" in r.stderr and "put 'acquires' or 'resource' before it" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr and "KeyError" not in r.stderr, r.stderr
    _mod(tmp_path)
    r = rehab("check", "./...", cwd=tmp_path, env={"REHAB_RULE_DIRS": str(rules)})
    assert r.returncode == 2 and f"{y}:10: condition 'leaks' needs" in r.stderr, r.stderr
    y.write_text(head + "    - resource: {type: \"*os.File\"}\n    - leaks: {}\n" + tail)
    r = rehab("rules", "validate", str(rules))
    assert r.returncode == 0 and "ok  my-file-rule" in r.stdout, r.stdout + r.stderr


def test_readme_rule_example_works(tmp_path):
    """The worked example in the README is a working user rule."""
    import re

    readme = open(os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "README.md")).read()
    rules = tmp_path / "myrules"
    (rules / "templates").mkdir(parents=True)
    y = re.search(r"```yaml\n# myrules/root-not-closed.yaml\n(.*?)```", readme, re.S).group(1)
    (rules / "root-not-closed.yaml").write_text(y)
    j = re.search(r"```jinja\n\{#.*?#\}\n(.*?)```", readme, re.S).group(1)
    (rules / "templates" / "root-not-closed.go.j2").write_text(j)
    _mod(tmp_path, 'package p\n\nimport "os"\n\nfunc use(r *os.Root) error { return nil }\n\n'
         'func F(name string) error {\n\tr, err := os.OpenRoot(name)\n\tif err != nil {\n\t\treturn err\n\t}\n'
         '\treturn use(r)\n}\n')
    r = rehab("check", "--format", "json", "./...", cwd=tmp_path, env={"REHAB_RULE_DIRS": str(rules)})
    (f,) = json.loads(r.stdout)
    assert (f["rule"], f["line"], f["fixable"]) == ("root-not-closed", 8, True)
    r = rehab("rules", "validate", str(rules), cwd=tmp_path)
    assert r.returncode == 0 and "ok  root-not-closed" in r.stdout, r.stdout + r.stderr


def test_error_wrap_never_wraps_a_possibly_nil_error(tmp_path):
    _mod(tmp_path, textwrap.dedent('''\
        package p

        import (
        	"fmt"
        	"os"
        )

        func Size(name string) (int64, error) {
        	st, err := os.Stat(name)
        	if err != nil {
        		return 0, err
        	}
        	fmt.Println(st.Name())
        	_, err = os.ReadFile(name)
        	return st.Size(), err
        }
        '''))
    r = rehab("check", "--rules", "error-wrap", "--format", "json", "./...", cwd=tmp_path)
    assert [f["line"] for f in json.loads(r.stdout)] == [11], r.stdout


def test_discarded_cancel_gets_a_fresh_name(tmp_path):
    # go vet rejects this source, so it cannot live in testdata/
    from toolexec_rehab.analysis import Analyzer, go_env_goroot
    from toolexec_rehab.golang.package import Package, load_file
    from toolexec_rehab.rules.engine import apply_fixes
    from toolexec_rehab.rules.loader import load_rules

    p = tmp_path / "c.go"
    p.write_text(textwrap.dedent('''\
        package p

        import (
        	"context"
        	"time"
        )

        func F(parent context.Context, cancel func()) error {
        	ctx, _ := context.WithTimeout(parent, time.Second)
        	cancel()
        	return ctx.Err()
        }
        '''))
    gf = load_file(str(p))
    fs = Analyzer(go_env_goroot(), rules=load_rules({"lost-cancel"})).analyze(Package([gf]))
    new = apply_fixes(gf, fs).new_src.decode().splitlines()
    assert new[8] == "\tctx, cancel2 := context.WithTimeout(parent, time.Second); defer cancel2()"


def test_a_message_with_an_unknown_name_is_a_rule_error(tmp_path):
    """A rule message that uses a name no finding has fails when the rule loads, with file:line
    and the names a message may use; never an internal error at the first finding."""
    rules = tmp_path / "myrules"
    (rules / "templates").mkdir(parents=True)
    (rules / "templates" / "my-rule.go.j2").write_text("; defer {{ handle }}.Close()\n")
    y = rules / "my-rule.yaml"
    y.write_text("id: my-rule\nsummary: s\nrationale: r\nmessage: \"{{ call }} leaks\"\nmatch:\n"
                 "  query: |\n    (call_expression) @call\n  conditions:\n"
                 "    - callee: {any_of: [os.Open]}\n    - resource: {type: \"*os.File\"}\n    - leaks: {}\n"
                 "fix:\n  template: my-rule.go.j2\n")
    _mod(tmp_path)
    for r in (rehab("rules", "validate", str(rules)),
              rehab("check", "./...", cwd=tmp_path, env={"REHAB_RULE_DIRS": str(rules)})):
        assert r.returncode == 2, r.stdout + r.stderr
        assert f"{y}:4: message: UndefinedError: 'call' is undefined" in r.stderr, r.stderr
        assert "callee_text" in r.stderr and "Traceback" not in r.stderr
