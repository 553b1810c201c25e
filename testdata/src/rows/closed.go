package rows

import (
	"context"
	"database/sql"
	"log"
)

// deferClose is the canonical pattern.
func deferClose(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// explicitCloseAllPaths closes explicitly before every return.
func explicitCloseAllPaths(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT n FROM t")
	if err != nil {
		return 0, err
	}
	total := 0
	for rows.Next() { // want "rows-err-not-checked"
		var n int
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return 0, err
		}
		total += n
	}
	if err := rows.Close(); err != nil {
		return 0, err
	}
	return total, nil
}

// deferredClosure closes inside a deferred func literal.
func deferredClosure(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer func() {
		_ = rows.Close()
	}()
	for rows.Next() {
	}
	return rows.Err()
}

// deferredClosureWithArg passes the rows to a deferred func literal.
func deferredClosureWithArg(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer func(r *sql.Rows) {
		_ = r.Close()
	}(rows)
	return rows.Err()
}

// namedResultClose propagates the Close error through a named result.
func namedResultClose(db *sql.DB) (err error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rows.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	for rows.Next() {
	}
	return rows.Err()
}

// errAssignClose assigns the Close error to err.
func errAssignClose(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	for rows.Next() { // want "rows-err-not-checked"
	}
	err = rows.Close()
	return err
}

// returnClose returns the result of Close.
func returnClose(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT 1")
	if err != nil {
		return err
	}
	for rows.Next() { // want "rows-err-not-checked"
	}
	return rows.Close()
}

// assignedInBothBranches acquires in both branches and defers once afterwards.
func assignedInBothBranches(db *sql.DB, byName bool) error {
	var rows *sql.Rows
	var err error
	if byName {
		rows, err = db.Query("SELECT 1 ORDER BY name")
	} else {
		rows, err = db.Query("SELECT 1 ORDER BY id")
	}
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// fatalPathNotALeak: the unclosed path ends in log.Fatalf.
func fatalPathNotALeak(db *sql.DB, strict bool) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	if strict && !rows.Next() {
		log.Fatalf("no rows")
	}
	rows.Close()
}

// panicPathNotALeak: the unclosed path ends in panic.
func panicPathNotALeak(db *sql.DB) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		panic(err)
	}
	if !rows.Next() {
		panic("empty result")
	}
	rows.Close()
}

// breakThenClose leaves the loop early but still reaches Close.
func breakThenClose(db *sql.DB, max int) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	n := 0
	for rows.Next() { // want "rows-err-not-checked"
		n++
		if n >= max {
			break
		}
	}
	rows.Close()
	return nil
}

// txStmtConnClosed covers the other receivers with proper closing.
func txStmtConnClosed(ctx context.Context, tx *sql.Tx, stmt *sql.Stmt, conn *sql.Conn) error {
	r1, err := tx.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer r1.Close()
	r2, err := stmt.QueryContext(ctx)
	if err != nil {
		return err
	}
	defer r2.Close()
	r3, err := conn.QueryContext(ctx, "SELECT 1")
	if err != nil {
		return err
	}
	defer r3.Close()
	return nil
}

// queryRowNotTracked: QueryRow returns *sql.Row, which needs no Close.
func queryRowNotTracked(db *sql.DB) (int, error) {
	var n int
	err := db.QueryRow("SELECT 1").Scan(&n)
	return n, err
}

// execNotTracked: Exec returns a sql.Result.
func execNotTracked(db *sql.DB) error {
	_, err := db.Exec("DELETE FROM t")
	return err
}
