"""rows-err-not-checked (rules/rowserr.py): which row types count, what the fix is in the source
and in a build, and why there is none. The shapes themselves: testdata/src/rowserr."""

import pytest

from toolexec_rehab.analysis import Analyzer, go_env_goroot
from toolexec_rehab.golang.package import Package, load_file
from toolexec_rehab.rules import rowserr
from toolexec_rehab.rules.engine import apply_fixes
from toolexec_rehab.rules.loader import all_rules

RULE = "rows-err-not-checked"


@pytest.fixture(scope="module")
def rule():
    return [r for r in all_rules() if r.id == RULE]


def _findings(rule, tmp_path, src: str, modes=None, source=True):
    path = tmp_path / "p.go"
    path.write_text(src)
    gf = load_file(str(path))
    assert not gf.has_error
    an = Analyzer(go_env_goroot(), rules=rule, modes=modes, source=source)
    return gf, an.analyze(Package([gf]))


LOOP = """package p

import {imp}

func scan(rows {typ}) ([]string, error) {{
	var out []string
	for rows.Next() {{
		var s string
		if err := rows.Scan(&s); err != nil {{
			return nil, err
		}}
		out = append(out, s)
	}}
	return out, nil
}}
"""

STD = LOOP.format(imp='"database/sql"', typ="*sql.Rows")


@pytest.mark.parametrize("imp,typ", [
    ('"database/sql"', "*sql.Rows"),
    ('"github.com/jmoiron/sqlx"', "*sqlx.Rows"),
    ('"github.com/jackc/pgx/v5"', "pgx.Rows"),
    ('pgx "github.com/jackc/pgx/v4"', "pgx.Rows"),
])
def test_each_rows_type_is_reported(rule, tmp_path, imp, typ):
    _, fs = _findings(rule, tmp_path, LOOP.format(imp=imp, typ=typ))
    assert [(f.rule, f.line) for f in fs] == [(RULE, 7)]
    assert fs[0].message.startswith("rows.Err() is not checked after the loop")


@pytest.mark.parametrize("imp,typ", [
    ('"database/sql"', "sql.Rows"),  # not the pointer: not what Query returns
    ('"github.com/jackc/pgx/v5"', "*pgx.Rows"),  # a pointer to the interface
    ('"example.com/db"', "*db.Rows"),  # some other package's Rows
])
def test_other_types_are_not(rule, tmp_path, imp, typ):
    _, fs = _findings(rule, tmp_path, LOOP.format(imp=imp, typ=typ))
    assert fs == []


def test_the_type_decision_is_is_rows_type(rule, tmp_path, monkeypatch):
    """The one place a resource catalogue will replace: every type goes through it."""
    seen = []
    monkeypatch.setattr(rowserr, "is_rows_type", lambda t, rv=None: seen.append(t) or False)
    _, fs = _findings(rule, tmp_path, STD)
    assert fs == [] and seen == ["*database/sql.Rows"]


def test_is_rows_type():
    """The rows types are the catalogue's (the entries of rows-not-closed), embedders included."""
    types = {r.type for r in rowserr.rows_types()}
    assert {"*database/sql.Rows", "github.com/jackc/pgx/v5.Rows", "github.com/jackc/pgx/v4.Rows"} <= types
    assert all(rowserr.is_rows_type(t) for t in types) and rowserr.is_rows_type("*github.com/jmoiron/sqlx.Rows")
    assert not rowserr.is_rows_type(None) and not rowserr.is_rows_type("database/sql.Rows")


def test_report_only_by_default(rule, tmp_path):
    _, fs = _findings(rule, tmp_path, STD)
    assert fs[0].fix is None and fs[0].why_no_fix == "report-only rule"


def test_fix_is_a_source_suggestion_that_keeps_lines(rule, tmp_path):
    gf, fs = _findings(rule, tmp_path, STD, modes={RULE: "fix"})
    (f,) = fs
    assert f.fix is not None and f.fix.suggestion
    new = apply_fixes(gf, fs).new_src.decode()
    assert new.count("\n") == STD.count("\n")
    assert "\t}; if err := rows.Err(); err != nil { return *new([]string), err }\n\treturn out, nil\n" in new


def test_a_build_never_applies_it(rule, tmp_path):
    _, fs = _findings(rule, tmp_path, STD, modes={RULE: "fix"}, source=False)
    (f,) = fs
    assert f.fix is None and "a build never applies it" in f.why_no_fix


def test_no_fix_without_an_error_result(rule, tmp_path):
    src = STD.replace("([]string, error)", "[]string").replace("return nil, err", "return nil") \
        .replace("return out, nil", "return out")
    _, fs = _findings(rule, tmp_path, src, modes={RULE: "fix"})
    (f,) = fs
    assert f.fix is None and f.why_no_fix == "the function does not return an error"


def test_unknown_type_is_not_reported(rule, tmp_path):
    src = STD.replace("scan(rows *sql.Rows)", "scan(db *sql.DB)").replace(
        "var out []string", "rows := open(db)\n\tvar out []string")
    _, fs = _findings(rule, tmp_path, src)
    assert fs == []


def test_the_fix_is_not_found_again(rule, tmp_path):
    gf, fs = _findings(rule, tmp_path, STD, modes={RULE: "fix"})
    new = apply_fixes(gf, fs).new_src.decode()
    _, again = _findings(rule, tmp_path, new, modes={RULE: "fix"})
    assert again == []


def test_no_fix_before_an_explicit_close(rule, tmp_path):
    """The inserted return would skip a Close after the loop (rows-not-closed would say so)."""
    src = STD.replace("\treturn out, nil\n", "\t_ = rows.Close()\n\treturn out, nil\n")
    _, fs = _findings(rule, tmp_path, src, modes={RULE: "fix"})
    (f,) = fs
    assert f.fix is None and "closed after the loop" in f.why_no_fix
    deferred = STD.replace("\tvar out []string\n", "\tdefer rows.Close()\n\tvar out []string\n")
    _, fs = _findings(rule, tmp_path, deferred, modes={RULE: "fix"})
    assert fs[0].fix is not None
