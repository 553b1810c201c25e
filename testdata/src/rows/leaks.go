package rows

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
)

// neverClosed iterates the rows but never closes them.
func neverClosed(db *sql.DB) ([]int, error) {
	rows, err := db.Query("SELECT id FROM t") // want "rows-not-closed"
	if err != nil {
		return nil, err
	}
	var ids []int
	for rows.Next() { // want "rows-err-not-checked"
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// closedOnlyOnHappyPath closes at the end, but the Scan error return leaks.
func closedOnlyOnHappyPath(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT n FROM t") // want "rows-not-closed"
	if err != nil {
		return 0, err
	}
	total := 0
	for rows.Next() { // want "rows-err-not-checked"
		var n int
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	rows.Close()
	return total, nil
}

// earlyReturnBeforeDefer returns before the defer is registered.
func earlyReturnBeforeDefer(db *sql.DB, limit int) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	if limit <= 0 {
		return errors.New("bad limit")
	}
	defer rows.Close()
	for rows.Next() {
	}
	return rows.Err()
}

// queryContextNeverClosed uses QueryContext and never closes.
func queryContextNeverClosed(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return fmt.Errorf("query: %w", err)
	}
	return rows.Err()
}

// closedInOneBranchOnly closes in the if branch but not in the else branch.
func closedInOneBranchOnly(db *sql.DB, verbose bool) {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	if verbose {
		rows.Close()
	} else {
		log.Println("not closing")
	}
}

// closedInsideLoopBody only closes when the loop body runs at least once.
func closedInsideLoopBody(db *sql.DB) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	for rows.Next() { // want "rows-err-not-checked"
		rows.Close()
	}
	return nil
}

// panicOnErr panics in the error branch; the rows are never closed.
func panicOnErr(db *sql.DB) bool {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		panic(err)
	}
	return rows.Next()
}

// assignNotDefine acquires with = instead of :=.
func assignNotDefine(db *sql.DB) error {
	var rows *sql.Rows
	var err error
	rows, err = db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	for rows.Next() { // want "rows-err-not-checked"
	}
	return nil
}

// customNames uses non-conventional variable names.
func customNames(db *sql.DB) error {
	rs, qerr := db.Query("SELECT 1") // want "rows-not-closed"
	if qerr != nil {
		return qerr
	}
	_ = rs.Next()
	return nil
}

// passedToFmt: fmt never closes its arguments, so this is not a transfer.
func passedToFmt(db *sql.DB) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	fmt.Println(rows)
	return nil
}

// passedToNonClosingHelper: countRows is a same-package helper that does not
// close its parameter, so ownership is not transferred.
func passedToNonClosingHelper(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return 0, err
	}
	return countRows(rows), nil
}

func countRows(r *sql.Rows) int {
	n := 0
	for r.Next() { // want "rows-err-not-checked"
		n++
	}
	return n
}
