package stmts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log"
)

// neverClosed prepares a statement and never closes it.
func neverClosed(db *sql.DB, name string) error {
	stmt, err := db.Prepare("INSERT INTO t(name) VALUES(?)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	_, err = stmt.Exec(name)
	return err
}

// prepareContextNeverClosed uses PrepareContext and never closes.
func prepareContextNeverClosed(ctx context.Context, db *sql.DB, id int) (string, error) {
	stmt, err := db.PrepareContext(ctx, "SELECT name FROM t WHERE id = ?") // want "stmt-not-closed"
	if err != nil {
		return "", fmt.Errorf("prepare: %w", err)
	}
	var name string
	err = stmt.QueryRowContext(ctx, id).Scan(&name)
	return name, err
}

// closedOnlyOnHappyPath closes at the end, but the Exec error return leaks.
func closedOnlyOnHappyPath(db *sql.DB, names []string) error {
	stmt, err := db.Prepare("INSERT INTO t(name) VALUES(?)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := stmt.Exec(n); err != nil {
			return err
		}
	}
	stmt.Close()
	return nil
}

// earlyReturnBeforeDefer returns before the defer is registered.
func earlyReturnBeforeDefer(db *sql.DB, ids []int) error {
	stmt, err := db.Prepare("DELETE FROM t WHERE id = ?") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	if len(ids) == 0 {
		return errors.New("no ids")
	}
	defer stmt.Close()
	for _, id := range ids {
		if _, err := stmt.Exec(id); err != nil {
			return err
		}
	}
	return nil
}

// closedInOneBranchOnly closes in the if branch but not in the else branch.
func closedInOneBranchOnly(db *sql.DB, verbose bool) {
	stmt, err := db.Prepare("SELECT 1") // want "stmt-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	if verbose {
		stmt.Close()
	} else {
		log.Println("not closing")
	}
}

// panicOnErr panics in the error branch; the statement is never closed.
func panicOnErr(db *sql.DB) int {
	stmt, err := db.Prepare("SELECT 1") // want "stmt-not-closed"
	if err != nil {
		panic(err)
	}
	var n int
	if err := stmt.QueryRow().Scan(&n); err != nil {
		return -1
	}
	return n
}

// assignNotDefine acquires with = instead of :=.
func assignNotDefine(db *sql.DB) error {
	var stmt *sql.Stmt
	var err error
	stmt, err = db.Prepare("UPDATE t SET n = n + 1") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	_, err = stmt.Exec()
	return err
}

// customNames uses non-conventional variable names.
func customNames(db *sql.DB) error {
	ins, perr := db.Prepare("INSERT INTO t DEFAULT VALUES") // want "stmt-not-closed"
	if perr != nil {
		return perr
	}
	_, xerr := ins.Exec()
	return xerr
}

// multiLinePrepare spans several lines and is followed by the error check.
func multiLinePrepare(ctx context.Context, db *sql.DB, id int) error {
	stmt, err := db.PrepareContext(ctx, // want "stmt-not-closed"
		"UPDATE users SET seen = 1 WHERE id = ?",
	)
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx, id)
	return err
}

// passedToNonClosingHelper: execOnce does not close its parameter.
func passedToNonClosingHelper(db *sql.DB) error {
	stmt, err := db.Prepare("SELECT 1") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	return execOnce(stmt)
}

func execOnce(s *sql.Stmt) error {
	_, err := s.Exec()
	return err
}
