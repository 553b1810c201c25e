package tx

import (
	"context"
	"database/sql"
	"fmt"
	"log"
)

// deferRollback is the canonical pattern: the Rollback after a Commit does nothing.
func deferRollback(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() // want "unchecked-error"
	if _, err := tx.ExecContext(ctx, "UPDATE t SET n = n + 1"); err != nil {
		return err
	}
	return tx.Commit()
}

// explicitEveryPath rolls back on every error path and commits on the others.
func explicitEveryPath(db *sql.DB, names []string) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == "" {
			_ = tx.Rollback()
			return fmt.Errorf("empty name")
		}
		if _, err := tx.Exec("INSERT INTO names(n) VALUES ($1)", n); err != nil {
			_ = tx.Rollback()
			return err
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// namedErrDeferred rolls back in a deferred func when the named error is set, commits otherwise.
func namedErrDeferred(db *sql.DB, id int) (err error) {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
			return
		}
		err = tx.Commit()
	}()
	_, err = tx.Exec("DELETE FROM t WHERE id = $1", id)
	return err
}

// namedErrRollbackOnly: the deferred func rolls back on error; the success path commits.
func namedErrRollbackOnly(ctx context.Context, db *sql.DB) (n int64, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	res, err := tx.ExecContext(ctx, "UPDATE t SET n = 0")
	if err != nil {
		return 0, err
	}
	if n, err = res.RowsAffected(); err != nil {
		return 0, err
	}
	err = tx.Commit()
	return n, err
}

// rollbackThenPanic rolls back before panicking.
func rollbackThenPanic(db *sql.DB) {
	tx, err := db.Begin()
	if err != nil {
		panic(err)
	}
	if _, err := tx.Exec("UPDATE t SET n = 1"); err != nil {
		_ = tx.Rollback()
		panic(err)
	}
	if err := tx.Commit(); err != nil {
		panic(err)
	}
}

// panicPathNotALeak: the unfinished paths end in panic or log.Fatal.
func panicPathNotALeak(db *sql.DB, strict bool) {
	tx, err := db.Begin()
	if err != nil {
		log.Fatal(err)
	}
	if _, err := tx.Exec("UPDATE t SET n = 2"); err != nil {
		if strict {
			panic(err)
		}
		log.Fatalf("exec: %v", err)
	}
	if err := tx.Commit(); err != nil {
		log.Fatal(err)
	}
}

// beginInLoopClosure scopes a deferred Rollback to each iteration.
func beginInLoopClosure(db *sql.DB, ids []int) error {
	for _, id := range ids {
		if err := func() error {
			tx, err := db.Begin()
			if err != nil {
				return err
			}
			defer tx.Rollback() // want "unchecked-error"
			if _, err := tx.Exec("DELETE FROM t WHERE id = $1", id); err != nil {
				return err
			}
			return tx.Commit()
		}(); err != nil {
			return err
		}
	}
	return nil
}

// connTxDeferred: a transaction on a *sql.Conn, finished on every path.
func connTxDeferred(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close() // want "unchecked-error"
	tx, err := conn.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback() // want "unchecked-error"
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		return err
	}
	return tx.Commit()
}

// commitOrRollbackOnCommitError: the Commit's own error is handled.
func commitOrRollbackOnCommitError(db *sql.DB) (err error) {
	tx, err := db.Begin()
	if err != nil {
		return
	}
	if _, err = tx.Exec("UPDATE t SET n = 3"); err != nil {
		_ = tx.Rollback()
		return
	}
	return tx.Commit()
}
