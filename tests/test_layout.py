"""Fixes written into the source read like hand-written Go (rewrite/layout.py): gofmt-clean
for every rule, a statement on its own line, comments where they were. A build's fixes keep
every line where it was (tests/test_behaviour.py, the overlay below)."""

import os
import shutil
import subprocess
import textwrap

from helpers import rehab

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _gofmt_l(d):
    r = subprocess.run(["gofmt", "-l", str(d)], capture_output=True, text=True, check=True)
    return r.stdout.split()


def test_fix_write_is_gofmt_clean_for_every_rule(tmp_path):
    """Every testdata package fixed by `fix --write`, with the suggestions and the report-mode
    rules' fixes on: gofmt finds nothing to change, and the fixes really happened."""
    src = tmp_path / "src"
    shutil.copytree(os.path.join(ROOT, "testdata", "src"), src, ignore=shutil.ignore_patterns("*.golden"))
    assert _gofmt_l(src) == []  # the inputs are gofmt-clean
    before = {p: p.read_bytes() for p in src.rglob("*.go")}
    modes = "unchecked-error=fix,rows-err-not-checked=fix"
    r = rehab("fix", "--write", "--suggestions", "./...", cwd=src, env={"REHAB_MODES": modes, "REHAB_SERVER": "off"})
    assert r.returncode in (0, 1), r.stderr
    changed = [p for p, b in before.items() if p.read_bytes() != b]
    assert len(changed) >= 25, changed
    assert _gofmt_l(src) == []
    assert not any(b"}; " in p.read_bytes() for p in changed)


MODULE = "module lay\n\ngo 1.22\n"

CODE = """\
    package lay

    import (
    	"io"
    	"os"
    )

    func read(p string) ([]byte, error) {
    	f, err := os.Open(p) // the config file
    	if err != nil {
    		return nil, err
    	}
    	return io.ReadAll(f)
    }

    func early(p string) ([]byte, error) {
    	f, err := os.Open(p)
    	defer f.Close() // too early
    	if err != nil {
    		return nil, err
    	}
    	return io.ReadAll(f)
    }

    func earlyBare(p string) ([]byte, error) {
    	f, err := os.Open(p)
    	defer f.Close()
    	if err != nil {
    		return nil, err
    	}
    	return io.ReadAll(f)
    }

    func maybe(p string) {
    	f, _ := os.Open(p) // maybe
    	if f != nil {
    		f.Stat()
    	}
    }
    """


def _fixed(tmp_path, code, *extra):
    (tmp_path / "go.mod").write_text(MODULE)
    (tmp_path / "a.go").write_text(textwrap.dedent(code))
    r = rehab("fix", "--write", *extra, ".", cwd=tmp_path, env={"REHAB_SERVER": "off"})
    assert r.returncode in (0, 1), r.stderr
    return (tmp_path / "a.go").read_text()


def test_comments_stay_where_they_were(tmp_path):
    out = _fixed(tmp_path, CODE)
    # the acquisition keeps its trailing comment; the release is a line of its own
    assert "\tf, err := os.Open(p) // the config file\n\tif err != nil {" in out
    assert "\tf, _ := os.Open(p) // maybe\n\tdefer func() {\n\t\tif f != nil {\n" in out
    # a moved defer leaves its comment at the statement's indentation, or no line at all
    assert "\tf, err := os.Open(p)\n\t// too early\n\tif err != nil {" in out
    assert "\tf, err := os.Open(p)\n\tif err != nil {\n\t\treturn nil, err\n\t}\n\tdefer f.Close()\n" in out
    assert out.count("defer f.Close()") == 3
    assert _gofmt_l(tmp_path) == []


def test_a_file_that_was_not_gofmt_clean_keeps_its_formatting_and_gets_clean_lines(tmp_path):
    code = CODE + "\n    var   x = 1 // theirs, not gofmt's\n"
    out = _fixed(tmp_path, code)
    assert "var   x = 1 // theirs" in out  # the user's own formatting is not ours to change
    assert "\tdefer func() {\n\t\tif f != nil {\n\t\t\t_ = f.Close()\n\t\t}\n\t}()\n" in out
    assert "}; " not in out and "\t// too early\n" in out
    r = subprocess.run(["gofmt", "-d", str(tmp_path / "a.go")], capture_output=True, text=True)
    changed = [ln for ln in r.stdout.splitlines() if ln.startswith(("-", "+")) and not ln.startswith(("---", "+++"))]
    assert changed == ["-var   x = 1 // theirs, not gofmt's", "+var x = 1 // theirs, not gofmt's"], r.stdout


def test_an_overlay_keeps_every_line_where_it_was(tmp_path):
    """overlay feeds a build: its fixed files have the user's line count."""
    import json

    (tmp_path / "go.mod").write_text(MODULE)
    (tmp_path / "a.go").write_text(textwrap.dedent(CODE))
    out = tmp_path / "overlay.json"
    r = rehab("overlay", "-o", str(out), ".", cwd=tmp_path, env={"REHAB_SERVER": "off"})
    assert r.returncode == 0, r.stderr
    replace = json.loads(out.read_text())["Replace"]
    (fixed,) = replace.values()
    text = open(fixed).read()
    assert text.count("\n") == textwrap.dedent(CODE).count("\n") and "}; defer f.Close()" in text


def test_a_thrown_away_query_calls_exec_in_the_source(tmp_path):
    """`_, err = db.Query(q)`: in the source the fix calls Exec, and says so; the three forms
    a build rewrites instead (rows closed right after the call: tests/test_behaviour.py)."""
    code = """\
    package lay

    import "database/sql"

    func vacuum(db *sql.DB) (err error) {
    	_, err = db.Query("VACUUM")
    	if err != nil {
    		return err
    	}
    	_, err2 := db.QueryContext(nil, "ANALYZE")
    	db.Query("CHECKPOINT")
    	return err2
    }
    """
    (tmp_path / "go.mod").write_text(MODULE)
    (tmp_path / "a.go").write_text(textwrap.dedent(code))
    r = rehab("fix", "--write", ".", cwd=tmp_path, env={"REHAB_SERVER": "off"})
    assert r.returncode in (0, 1), r.stderr
    out = (tmp_path / "a.go").read_text()
    assert '_, err = db.Exec("VACUUM")' in out and '_, err2 := db.ExecContext(nil, "ANALYZE")' in out
    assert 'db.Exec("CHECKPOINT")' in out and "Query" not in out and "Close" not in out
    assert r.stderr.count("call Exec instead of Query:") == 2 and "call ExecContext instead of QueryContext" in r.stderr
    b = subprocess.run(["go", "vet", "."], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert b.returncode == 0, b.stderr
