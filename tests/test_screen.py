"""A build that only patches (no instrumentation) resolves only the calls that may acquire a
resource a fix may release (acquire.fixable_screen). The screen must never change a
fixable finding: the same findings, ids and edits as the full analysis, on every package
of the repository's Go code."""

import os
import textwrap

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREES = ("testdata/src", "testdata/ported", "go_fixtures")


def _package_dirs():
    out = []
    for tree in TREES:
        for d, subdirs, files in os.walk(os.path.join(ROOT, tree)):
            subdirs[:] = sorted(s for s in subdirs if s not in ("vendor", "testdata") and not s.startswith((".", "_")))
            if any(f.endswith(".go") for f in files):
                out.append(d)
    return out


def _analyze(d, fixable_only):
    from toolexec_rehab.analysis import Analyzer, PackageInput, build_packages, go_env_goroot
    from toolexec_rehab.config import load_config
    from toolexec_rehab.pipeline import select_rules

    rules, modes = select_rules(load_config(), None, fix_only=True)
    analyzer = Analyzer(go_env_goroot(), rules=rules, modes=modes, fixable_only=fixable_only)
    files = sorted(os.path.join(d, n) for n in os.listdir(d) if n.endswith(".go"))
    out = []
    for pkg in build_packages(PackageInput(d, files)):
        out += analyzer.analyze(pkg)
    return out


def _fixes(findings):
    return sorted((d.path, d.line, d.rule, d.node_id, tuple((e.start, e.end, e.text) for e in d.fix.edits))
                  for d in findings if d.fixable)


def test_screen_keeps_every_fixable_finding(monkeypatch):
    from toolexec_rehab.rules import acquire

    screens = []
    real = acquire.fixable_screen
    monkeypatch.setattr(acquire, "fixable_screen", lambda p: screens.append(real(p)) or screens[-1])
    fixed = 0
    for d in _package_dirs():
        full, screened = _analyze(d, False), _analyze(d, True)
        assert _fixes(screened) == _fixes(full), os.path.relpath(d, ROOT)
        fixed += len(_fixes(full))
    # the comparison covers real fixes, with the screen on in most packages
    assert fixed >= 300, fixed
    assert sum(s is not None for s in screens) >= 20, screens


def test_screen_leaves_out_what_only_a_report_would_show(tmp_path):
    """os.NewFile's *os.File is reported (it may wrap a descriptor something else owns),
    never patched: a build that only patches does not resolve the call at all."""
    _module(tmp_path, {"p/p.go": """\
        package p

        import "os"

        func size(fd uintptr) int64 {
        	f := os.NewFile(fd, "in")
        	st, err := f.Stat()
        	if err != nil {
        		return 0
        	}
        	return st.Size()
        }
        """})
    full, screened = _analyze(str(tmp_path / "p"), False), _analyze(str(tmp_path / "p"), True)
    assert [(f.rule, f.fixable) for f in full] == [("file-not-closed", False)]
    assert "not known to hand over" in full[0].why_no_fix
    assert screened == []


def _module(tmp_path, files: dict[str, str]):
    for rel, text in files.items():
        p = tmp_path / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(textwrap.dedent(text))
    (tmp_path / "go.mod").write_text("module example.com/m\n\ngo 1.22\n")


STORE = """\
    package store

    import "database/sql"

    type S struct{ db *sql.DB }

    func (s *S) Names() (*sql.Rows, error) { return s.db.Query("SELECT name FROM t") }
    """

LEAK = """\
    func count(s *{S}) (int, error) {{
    	rows, err := s.Names()
    	if err != nil {{
    		return 0, err
    	}}
    	n := 0
    	for rows.Next() {{
    		n++
    		if n > 10 {{
    			return n, nil
    		}}
    	}}
    	return n, nil
    }}
    """


@pytest.mark.parametrize("where", ["same package", "another package of the module"])
def test_module_function_that_hands_over_is_patched_with_the_screen(tmp_path, where):
    """A method of the module that returns rows it made: found and fixed, whether the call
    is in its own package (the screen lets its name through) or in another one (the screen
    is off: that package's types may reach any call)."""
    if where == "same package":
        _module(tmp_path, {"store/s.go": STORE + textwrap.indent(LEAK.format(S="S"), "    ")})
        d = tmp_path / "store"
    else:
        _module(tmp_path, {"store/s.go": STORE,
                           "app/a.go": '    package app\n\n    import "example.com/m/store"\n\n'
                                       + textwrap.indent(LEAK.format(S="store.S"), "    ")})
        d = tmp_path / "app"
    full, screened = _analyze(str(d), False), _analyze(str(d), True)
    assert [f.rule for f in screened if f.fixable] == ["rows-not-closed"]
    assert _fixes(screened) == _fixes(full)


def test_acquire_tails():
    from toolexec_rehab.rules.catalogue import Catalogue, Resource

    cat = Catalogue((Resource(id="a", type="*x.T", release=("Close",), acquire=("x.Open", "x.*.Query", "y.New*Client", "z.Dial?")),))
    exact, ends = cat.acquire_tails()
    assert exact == {"Open", "Query"}
    # `New*Client`: a name ending in Client; `Dial?`: any ending (a wildcard last)
    assert ends == ("", "Client")
