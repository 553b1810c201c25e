package stmts

import (
	"context"
	"database/sql"
	"log"
)

type repo struct {
	db *sql.DB
}

// txPrepare prepares on a transaction and never closes the statement.
func txPrepare(tx *sql.Tx, name string) error {
	stmt, err := tx.Prepare("INSERT INTO t(name) VALUES(?)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	_, err = stmt.Exec(name)
	return err
}

// txPrepareContext prepares on a transaction with a context.
func txPrepareContext(ctx context.Context, tx *sql.Tx) (int64, error) {
	stmt, err := tx.PrepareContext(ctx, "DELETE FROM t") // want "stmt-not-closed"
	if err != nil {
		return 0, err
	}
	res, err := stmt.ExecContext(ctx)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// connPrepareContext prepares on a dedicated connection.
func connPrepareContext(ctx context.Context, conn *sql.Conn) error {
	stmt, err := conn.PrepareContext(ctx, "SELECT 1") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	var n int
	return stmt.QueryRowContext(ctx).Scan(&n)
}

// fieldReceiver prepares on a *sql.DB held in a struct field.
func (r *repo) fieldReceiver(name string) error {
	stmt, err := r.db.Prepare("INSERT INTO t(name) VALUES(?)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	_, err = stmt.Exec(name)
	return err
}

// ignoredPrepareError drops the error with _: nil-guarded fix.
func ignoredPrepareError(db *sql.DB) int {
	stmt, _ := db.Prepare("SELECT 1") // want "stmt-not-closed"
	var n int
	_ = stmt.QueryRow().Scan(&n)
	return n
}

// errorCheckedLater checks the error only after another statement:
// nil-guarded fix.
func errorCheckedLater(ctx context.Context, db *sql.DB) error {
	stmt, err := db.PrepareContext(ctx, "SELECT 1") // want "stmt-not-closed"
	log.Printf("prepared")
	if err != nil {
		return err
	}
	_, err = stmt.ExecContext(ctx)
	return err
}

// usedInLoopNeverClosed prepares once, executes many times, never closes.
func usedInLoopNeverClosed(db *sql.DB, names []string) error {
	stmt, err := db.Prepare("INSERT INTO t(name) VALUES(?)") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	for _, n := range names {
		if _, err := stmt.Exec(n); err != nil {
			return err
		}
	}
	return nil
}
