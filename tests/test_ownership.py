"""The ownership model (rules/ownership.py): a release is patched only when nothing that
carries the resource can outlive the function; otherwise the finding is reported with a
why_no_fix that names the escape and its line. In-process and fast; the behavioural proof
(plain vs rehab builds) is test_behaviour.py."""

from __future__ import annotations

import json
import os
import textwrap

import pytest
from helpers import rehab

from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages, go_env_goroot
from toolexec_rehab.rules.loader import all_rules

PRELUDE = """package p

import (
\t"bufio"
\t"context"
\t"database/sql"
\t"encoding/csv"
\t"io"
\t"net/http"
\t"os"
\t"time"
)

var _ = bufio.NewReader
var _ = csv.NewReader
var _ = io.EOF
var _ = http.Get
var _ = sql.Open
var _ = time.Second
var _ = context.Background

"""

_ANALYZER: list[Analyzer] = []


def analyze(tmp_path, body: str, name: str = "p.go"):
    """The diagnostics of one file of package p (the default rules, a build's fixes)."""
    if not _ANALYZER:
        _ANALYZER.append(Analyzer(go_env_goroot(), rules=[r for r in all_rules() if r.rule.enabled]))
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    path = tmp_path / name
    path.write_text(PRELUDE + textwrap.dedent(body))
    (pkg,) = build_packages(PackageInput(str(tmp_path), [str(path)]))
    return [d for d in _ANALYZER[0].analyze(pkg) if d.rule != "unchecked-error"]


def line_of(body: str, marker: str) -> int:
    """The line (in the analyzed file) of the first line of body containing marker."""
    lines = (PRELUDE + textwrap.dedent(body)).splitlines()
    return next(i for i, ln in enumerate(lines, 1) if marker in ln)


# (name, body, the escape's words in why_no_fix). Each leaks on one path (`if bad`), so it
# is reported, and lets the resource escape at the line marked ESC, so it must not be patched.
ESCAPES = [
    ("returned", """
        func F(p string, bad bool) (*os.File, error) {
        	f, err := os.Open(p)
        	if err != nil || bad {
        		return nil, err
        	}
        	return f, nil // ESC
        }
        """, "f escapes: returned"),
    ("scanner returned", """
        func F(p string) (*bufio.Scanner, error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return nil, err
        	}
        	s := bufio.NewScanner(f)
        	return s, nil // ESC
        }
        """, "f escapes through a *bufio.Scanner returned"),
    ("wrapper of a wrapper", """
        func F(p string) (*csv.Reader, error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return nil, err
        	}
        	return csv.NewReader(io.LimitReader(f, 100)), nil // ESC
        }
        """, "f escapes through a *csv.Reader returned"),
    ("field", """
        type holder struct{ f *os.File }

        func (h *holder) F(p string, bad bool) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	if bad {
        		return nil
        	}
        	h.f = f // ESC
        	return nil
        }
        """, "stored in the field h.f"),
    ("global", """
        var current *os.File

        func F(p string, bad bool) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	if bad {
        		return nil
        	}
        	current = f // ESC
        	return nil
        }
        """, "stored in the package-level variable current"),
    ("map", """
        func F(m map[string]io.Reader, p string) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	m[p] = bufio.NewReader(f) // ESC
        	return nil
        }
        """, "stored in m[p], an element of a map or slice"),
    ("channel", """
        func F(ch chan io.Reader, p string) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	select {
        	case ch <- f: // ESC
        	default:
        	}
        	return nil
        }
        """, "sent on a channel"),
    ("goroutine", """
        func F(p string, done chan int, bad bool) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	if bad {
        		return nil
        	}
        	go func() { // ESC
        		b := make([]byte, 1)
        		n, _ := f.Read(b)
        		done <- n
        	}()
        	return nil
        }
        """, "captured by a goroutine"),
    ("unknown callee", """
        func F(p string, keep func(io.Reader), bad bool) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	if bad {
        		return nil
        	}
        	keep(f) // ESC
        	return nil
        }
        """, "passed to keep(), which may keep it"),
    ("module function that stores", """
        var all []io.Reader

        func remember(r io.Reader) { all = append(all, r) }

        func F(p string) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	remember(bufio.NewReader(f)) // ESC
        	return nil
        }
        """, "passed to remember(), which may keep it"),
    ("method value", """
        func F(p string) (func([]byte) (int, error), error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return nil, err
        	}
        	return f.Read, nil // ESC
        }
        """, "through the method value f.Read returned"),
    ("closure returned", """
        func F(p string) (func() string, error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return nil, err
        	}
        	return func() string { return f.Name() }, nil // ESC
        }
        """, "through a func literal that captures it returned"),
    ("named result", """
        func F(p string, bad bool) (r io.Reader, err error) {
        	f, err := os.Open(p)
        	if err != nil || bad {
        		return nil, err
        	}
        	r = f // ESC
        	return
        }
        """, "assigned to the named result r"),
    ("deferred flush in a loop", """
        func F(paths []string) error {
        	for _, p := range paths {
        		f, err := os.Create(p)
        		if err != nil {
        			return err
        		}
        		bw := bufio.NewWriter(f)
        		defer bw.Flush() // ESC
        		bw.WriteString(p)
        	}
        	return nil
        }
        """, "f escapes through a *bufio.Writer used by a call deferred in the loop"),
    ("deferred before the acquisition", """
        func F(p string) (n int, err error) {
        	var f *os.File
        	defer func() { // ESC
        		if f != nil {
        			b := make([]byte, 1)
        			n, _ = f.Read(b)
        		}
        	}()
        	f, err = os.Open(p)
        	if err != nil {
        		return 0, err
        	}
        	return 0, nil
        }
        """, "used by a call deferred before the acquisition"),
    ("ctx returned, cancel dropped", """
        func F(parent context.Context) context.Context {
        	ctx, _ := context.WithCancel(parent)
        	return ctx // ESC
        }
        """, "ctx escapes: returned"),
    ("derived ctx returned", """
        type key struct{}

        func F(parent context.Context) context.Context {
        	ctx, _ := context.WithTimeout(parent, time.Hour)
        	return context.WithValue(ctx, key{}, 1) // ESC
        }
        """, "ctx escapes through a context.Context returned"),
    ("ctx to an unknown call", """
        func F(parent context.Context, run func(context.Context) error) error {
        	ctx, _ := context.WithCancel(parent)
        	return run(ctx) // ESC
        }
        """, "passed to run(), which may keep it"),
    ("request made with ctx returned", """
        func F(parent context.Context, url string) (*http.Request, error) {
        	ctx, _ := context.WithTimeout(parent, time.Second)
        	return http.NewRequestWithContext(ctx, "GET", url, nil) // ESC
        }
        """, "ctx escapes through a *http.Request returned"),
]


@pytest.mark.parametrize("name,body,words", ESCAPES, ids=[e[0] for e in ESCAPES])
def test_an_escape_is_reported_not_patched(tmp_path, name, body, words):
    diags = [d for d in analyze(tmp_path, body) if d.rule in ("file-not-closed", "lost-cancel")]
    assert len(diags) == 1, [(d.rule, d.line, d.message) for d in diags]
    (d,) = diags
    assert d.fix is None, f"{name}: patched: {d.fix}"
    assert d.why_no_fix is not None and words in d.why_no_fix, d.why_no_fix
    assert d.why_no_fix.endswith(f"at line {line_of(body, '// ESC')}"), d.why_no_fix
    assert d.evidence["escape"]["line"] == line_of(body, "// ESC")
    assert any(r.message.startswith("may outlive the function here") for r in d.related)


# simple leaks keep their patch: only method calls, allow-listed calls, locals that do not
# escape, and functions of the module that only read
FIXED = [
    ("read through allow-listed calls", """
        func F(p string, w io.Writer) error {
        	f, err := os.Open(p)
        	if err != nil {
        		return err
        	}
        	st, err := f.Stat()
        	if err != nil || st.Size() == 0 {
        		return err
        	}
        	_, err = io.Copy(w, bufio.NewReader(f))
        	return err
        }
        """),
    ("a local wrapper that stays local", """
        func F(p string) (int, error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return 0, err
        	}
        	s := bufio.NewScanner(f)
        	n := 0
        	for s.Scan() {
        		n++
        	}
        	return n, s.Err()
        }
        """),
    ("a module helper that only reads", """
        func count(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }

        func F(p string) (int64, error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return 0, err
        	}
        	return count(f)
        }
        """),
    ("ctx passed to a module function that reads it", """
        func remaining(ctx context.Context) bool {
        	_, ok := ctx.Deadline()
        	return ok && ctx.Err() == nil
        }

        func F(parent context.Context) bool {
        	ctx, _ := context.WithTimeout(parent, time.Second)
        	return remaining(ctx)
        }
        """),
    ("ctx used by a query whose rows stay local", """
        func F(parent context.Context, db *sql.DB) (int, error) {
        	ctx, _ := context.WithTimeout(parent, time.Second)
        	var n int
        	err := db.QueryRowContext(ctx, "SELECT 1").Scan(&n)
        	return n, err
        }
        """),
]


@pytest.mark.parametrize("name,body", FIXED, ids=[f[0] for f in FIXED])
def test_a_simple_leak_keeps_its_patch(tmp_path, name, body):
    diags = [d for d in analyze(tmp_path, body) if d.rule in ("file-not-closed", "lost-cancel")]
    assert len(diags) == 1, [(d.rule, d.line, d.message) for d in diags]
    assert diags[0].fix is not None, diags[0].why_no_fix


def test_explain_shows_the_path(tmp_path):
    body = """
        func F(p string) (*csv.Reader, error) {
        	f, err := os.Open(p)
        	if err != nil {
        		return nil, err
        	}
        	br := bufio.NewReader(f)
        	cr := csv.NewReader(br)
        	return cr, nil
        }
        """
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "p.go").write_text(PRELUDE + textwrap.dedent(body))
    r = rehab("check", "--format", "json", ".", cwd=tmp_path)
    (f,) = [x for x in json.loads(r.stdout) if x["rule"] == "file-not-closed"]
    assert f["fixable"] is False
    assert f["why_no_fix"] == f"f escapes through a *csv.Reader returned at line {line_of(body, 'return cr')}"
    e = rehab("explain", f["node_id"], ".", cwd=tmp_path)
    assert e.returncode == 0, e.stderr
    want = (f"f -> a *bufio.Reader (line {line_of(body, 'br :=')}) -> a *csv.Reader (line {line_of(body, 'cr :=')})"
            f" -> returned at line {line_of(body, 'return cr')}")
    assert want in e.stdout, e.stdout
    assert "what the fix changes: the file is closed when the function returns" in e.stdout


def test_explain_lost_cancel_says_what_the_fix_changes(tmp_path):
    body = """
        func F(parent context.Context) error {
        	ctx, _ := context.WithTimeout(parent, time.Second)
        	return ctx.Err()
        }
        """
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "p.go").write_text(PRELUDE + textwrap.dedent(body))
    r = rehab("check", "--format", "json", ".", cwd=tmp_path)
    (f,) = [x for x in json.loads(r.stdout) if x["rule"] == "lost-cancel"]
    assert f["fixable"] is True
    e = rehab("explain", f["node_id"], ".", cwd=tmp_path)
    assert "is cancelled when the function returns" in e.stdout, e.stdout
    rule = rehab("explain", "lost-cancel")
    assert "changes behaviour: yes" in rule.stdout and "cancelled when the function" in rule.stdout


ESCAPING_FILE = """package p

import (
\t"bufio"
\t"os"
)

func Lines(p string) (*bufio.Scanner, error) {
\tf, err := os.Open(p)
\tif err != nil {
\t\treturn nil, err
\t}
\treturn bufio.NewScanner(f), nil
}

func Size(p string) (int64, error) {
\tf, err := os.Open(p)
\tif err != nil {
\t\treturn 0, err
\t}
\tst, err := f.Stat()
\tif err != nil {
\t\treturn 0, err
\t}
\treturn st.Size(), nil
}
"""


def _user_rule(tmp_path, resource: bool):
    """A copy of file-not-closed under another id; or (resource=False) a rule that declares
    no resource but whose template closes `f` after every dropped-error call."""
    from toolexec_rehab.paths import builtin_dirs

    pat, tpl = builtin_dirs()
    rules = tmp_path / "rules"
    (rules / "templates").mkdir(parents=True)
    y = open(os.path.join(pat, "file-not-closed.yaml")).read()
    y = y.replace("id: file-not-closed", "id: my-close").replace("file-not-closed.go.j2", "my-close.go.j2")
    y = y.replace("- acquires: {}", "- acquires: {resources: [os-file]}")
    y = y[:y.index("examples:")]
    if not resource:
        y = y[:y.index("message:")] + textwrap.dedent("""\
            message: "{{ callee_text }} here"
            match:
              query: |
                (expression_statement (call_expression) @call)
              conditions:
                - returns_error: {}
            fix:
              template: my-close.go.j2
              placement: replace
            """)
        (rules / "templates" / "my-close.go.j2").write_text("{{ call }}; defer f.Close()")
    else:
        (rules / "templates" / "my-close.go.j2").write_text(open(os.path.join(tpl, "_close.go.j2")).read())
    (rules / "my-close.yaml").write_text(y)
    return rules


@pytest.mark.parametrize("resource", [True, False], ids=["declares-resource", "no-resource-condition"])
def test_a_user_rule_gets_the_same_protection(tmp_path, resource):
    """The check is in the engine: a user's YAML rule that releases a resource is held to it;
    one that releases without declaring the resource cannot be checked, so it never patches."""
    rules = _user_rule(tmp_path, resource)
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")
    (tmp_path / "p.go").write_text(ESCAPING_FILE if resource else ESCAPING_FILE.replace(
        "\tst, err := f.Stat()", "\tf.Sync()\n\tst, err := f.Stat()"))
    r = rehab("check", "--format", "json", ".", cwd=tmp_path,
              env={"REHAB_RULE_DIRS": str(rules), "REHAB_RULES": "my-close"})
    found = {x["function"]: x for x in json.loads(r.stdout) if x["rule"] == "my-close"}
    if resource:
        assert set(found) == {"Lines", "Size"}, r.stdout + r.stderr
        assert found["Lines"]["fixable"] is False
        assert found["Lines"]["why_no_fix"] == "f escapes through a *bufio.Scanner returned at line 13"
        assert found["Size"]["fixable"] is True  # a simple leak keeps its patch
    else:
        assert set(found) == {"Size"}, r.stdout + r.stderr
        assert found["Size"]["fixable"] is False
        assert "does not declare its resource" in found["Size"]["why_no_fix"]


def test_a_value_stored_in_the_context_is_not_the_context(tmp_path):
    body = """
        type userKey struct{}

        func F(parent context.Context) (string, error) {
        	ctx, _ := context.WithTimeout(parent, time.Second)
        	u, _ := ctx.Value(userKey{}).(string)
        	return u, ctx.Err()
        }
        """
    (d,) = [d for d in analyze(tmp_path, body) if d.rule == "lost-cancel"]
    assert d.fix is not None, d.why_no_fix
