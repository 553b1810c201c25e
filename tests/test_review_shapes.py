"""Shapes from a safety review of the day's build patches (each was patched, wrongly or
uselessly, before its fix): the findings are reported, never patched."""

import json
import textwrap

import pytest
from helpers import rehab

SHAPES = {
    # Close of a *sql.Conn waits for a transaction begun on it: a Tx left unpatched (here in
    # an if initializer, reported only) made the patched Close deadlock the program
    "conn-with-tx": ("""\
        func work(ctx context.Context, db *sql.DB) {
        	conn, err := db.Conn(ctx)
        	if err != nil {
        		return
        	}
        	if tx, err := conn.BeginTx(ctx, nil); err == nil {
        		tx.ExecContext(ctx, "INSERT INTO t VALUES (1)")
        	}
        }
        """, {"resource-not-released": "would wait", "tx-not-finished": "initializer"}),
    # a method of the module that keeps what it returns does not hand it over: closing the
    # caller's (discarded) result emptied the store's rows
    "kept-and-returned": ("""\
        type Store struct {
        	db   *sql.DB
        	last *sql.Rows
        }

        func (s *Store) Query(q string) (*sql.Rows, error) {
        	r, err := s.db.Query(q)
        	s.last = r
        	return r, err
        }

        func use(s *Store) error {
        	_, err := s.Query("numbers")
        	return err
        }
        """, {}),
    # a thrown-away transaction may be ended by the program's own SQL on the connection
    "tx-discarded": ("""\
        func dry(ctx context.Context, db *sql.DB) error {
        	_, err := db.BeginTx(ctx, nil)
        	return err
        }
        """, {"tx-not-finished": "discarded"}),
    # no fix placement in an if's initializer or a for's post statement (the build's edit
    # did not parse and took every other fix of the file with it)
    "discarded-in-headers": ("""\
        func probe(db *sql.DB, cond bool) {
        	if _, err := db.Query("ping"); err != nil {
        		return
        	}
        	for i := 0; i < 2; db.Query("tick") {
        		i++
        	}
        }
        """, {"rows-not-closed": "initializer|discarded"}),
    # a goto may jump over the locals the rebinding fix declares
    "rebind-under-goto": ("""\
        func warm(db *sql.DB, skip bool) (err error) {
        	if skip {
        		goto done
        	}
        	_, err = db.Query("warm")
        done:
        	return err
        }
        """, {"rows-not-closed": "discarded"}),
    # a function declared without a body (assembly, go:linkname) may keep what it is given,
    # and what it returns is not judged (the analysis used to walk a missing body and fail)
    "bodyless-callee": ("""\
        func keep(rows *sql.Rows)

        func open(db *sql.DB) (*sql.Rows, error)

        func pass(db *sql.DB) error {
        	rows, err := db.Query("numbers")
        	if err != nil {
        		return err
        	}
        	keep(rows)
        	return nil
        }

        func viaAsm(db *sql.DB) error {
        	rows, err := open(db)
        	if err != nil {
        		return err
        	}
        	return rows.Err()
        }
        """, {}),
}


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_reported_not_patched(tmp_path, name):
    import re

    body, want = SHAPES[name]
    (tmp_path / "go.mod").write_text("module r\n\ngo 1.22\n")
    src = 'package r\n\nimport (\n\t"context"\n\t"database/sql"\n)\n\nvar _ = context.Background\n\n'
    (tmp_path / "r.go").write_text(src + textwrap.dedent(body))
    r = rehab("check", "--format", "json", ".", cwd=tmp_path, env={"REHAB_SERVER": "off"})
    assert r.returncode in (0, 1) and "failed on" not in r.stderr, r.stderr
    found = [d for d in json.loads(r.stdout) if d["rule"] != "unchecked-error"]
    assert not [d for d in found if d["fixable"]], found
    for rule, why in want.items():
        mine = [d for d in found if d["rule"] == rule]
        assert mine and all(re.search(why, d["why_no_fix"]) for d in mine), (rule, found)
    if not want:
        assert found == []
