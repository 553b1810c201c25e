package stmts

import (
	"context"
	"database/sql"
	"log"
)

// deferClose is the canonical pattern.
func deferClose(db *sql.DB, name string) error {
	stmt, err := db.Prepare("INSERT INTO t(name) VALUES(?)")
	if err != nil {
		return err
	}
	defer stmt.Close()
	_, err = stmt.Exec(name)
	return err
}

// explicitCloseAllPaths closes explicitly before every return.
func explicitCloseAllPaths(db *sql.DB, names []string) error {
	stmt, err := db.Prepare("INSERT INTO t(name) VALUES(?)")
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := stmt.Exec(n); err != nil {
			stmt.Close()
			return err
		}
	}
	return stmt.Close()
}

// deferredClosure closes inside a deferred func literal.
func deferredClosure(ctx context.Context, tx *sql.Tx) error {
	stmt, err := tx.PrepareContext(ctx, "DELETE FROM t")
	if err != nil {
		return err
	}
	defer func() {
		_ = stmt.Close()
	}()
	_, err = stmt.ExecContext(ctx)
	return err
}

// namedResultClose propagates the Close error through a named result.
func namedResultClose(ctx context.Context, conn *sql.Conn) (err error) {
	stmt, err := conn.PrepareContext(ctx, "SELECT 1")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := stmt.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	var n int
	return stmt.QueryRowContext(ctx).Scan(&n)
}

// closeErrorChecked closes and checks the Close error.
func closeErrorChecked(db *sql.DB) error {
	stmt, err := db.Prepare("UPDATE t SET n = 0")
	if err != nil {
		return err
	}
	if _, err := stmt.Exec(); err != nil {
		_ = stmt.Close()
		return err
	}
	if err := stmt.Close(); err != nil {
		return err
	}
	return nil
}

// fatalPathNotALeak: the unclosed path ends in log.Fatal.
func fatalPathNotALeak(db *sql.DB) {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	if _, err := stmt.Exec(); err != nil {
		log.Fatal(err)
	}
	stmt.Close()
}

// queryThroughStmt closes both the rows and the statement.
func queryThroughStmt(db *sql.DB) ([]int, error) {
	stmt, err := db.Prepare("SELECT id FROM t")
	if err != nil {
		return nil, err
	}
	defer stmt.Close()
	rows, err := stmt.Query()
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int
	for rows.Next() {
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// parameterNotOwned uses a statement it did not prepare.
func parameterNotOwned(stmt *sql.Stmt, name string) error {
	_, err := stmt.Exec(name)
	return err
}

// txStmtNotTracked: Tx.Stmt returns a transaction-specific statement that
// the transaction closes on Commit or Rollback.
func txStmtNotTracked(tx *sql.Tx, shared *sql.Stmt) error {
	_, err := tx.Stmt(shared).Exec()
	return err
}

type planner struct{}

type plan struct{ q string }

func (planner) Prepare(q string) (*plan, error) { return &plan{q: q}, nil }

// otherPrepareNotTracked: Prepare on a non-database type is not an
// acquisition.
func otherPrepareNotTracked(p planner) (string, error) {
	pl, err := p.Prepare("SELECT 1")
	if err != nil {
		return "", err
	}
	return pl.q, nil
}
