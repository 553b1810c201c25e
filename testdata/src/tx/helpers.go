package tx

import (
	"context"
	"database/sql"
	"errors"
)

// insertItems uses the transaction and leaves finishing it to its caller.
func insertItems(tx *sql.Tx, items []string) error {
	for _, it := range items {
		if _, err := tx.Exec("INSERT INTO items(name) VALUES ($1)", it); err != nil {
			return err
		}
	}
	return nil
}

// helperOnlyUses: insertItems neither commits nor rolls back, so its error path leaks.
func helperOnlyUses(db *sql.DB, items []string) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if err := insertItems(tx, items); err != nil {
		return err
	}
	return tx.Commit()
}

// deferAfterEarlyReturn: the deferred Rollback is registered too late.
func deferAfterEarlyReturn(ctx context.Context, db *sql.DB, name string) error {
	tx, err := db.BeginTx(ctx, nil) // want "tx-not-finished"
	if err != nil {
		return err
	}
	if name == "" {
		return errors.New("empty name")
	}
	defer tx.Rollback() // want "unchecked-error"
	if _, err := tx.ExecContext(ctx, "INSERT INTO t(name) VALUES ($1)", name); err != nil {
		return err
	}
	return tx.Commit()
}

// conditionalDefer: the Rollback is deferred only in debug mode.
func conditionalDefer(db *sql.DB, debug bool) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if debug {
		defer tx.Rollback() // want "unchecked-error"
	}
	if _, err := tx.Exec("UPDATE t SET n = 4"); err != nil {
		return err
	}
	return tx.Commit()
}

// otherTxRolledBack: the error path rolls back a different transaction.
func otherTxRolledBack(db *sql.DB, outer *sql.Tx) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE t SET n = 5"); err != nil {
		_ = outer.Rollback()
		return err
	}
	return tx.Commit()
}

// recoverDeferred is the classic deferred finish: recover, roll back on error, commit otherwise.
func recoverDeferred(db *sql.DB) (err error) {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			_ = tx.Rollback()
			panic(p)
		} else if err != nil {
			_ = tx.Rollback()
		} else {
			err = tx.Commit()
		}
	}()
	_, err = tx.Exec("UPDATE t SET n = 6")
	return err
}

// finishWith defers the finish of a transaction it is given.
func withTx(db *sql.DB, fn func(*sql.Tx) error) (err error) {
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
	return fn(tx)
}

// usesWithTx: the transaction lives inside withTx.
func usesWithTx(db *sql.DB) error {
	return withTx(db, func(tx *sql.Tx) error {
		return insertItems(tx, []string{"a", "b"})
	})
}

// TxAlias is another name for *sql.Tx.
type TxAlias = sql.Tx

// aliasLeaks: a variable of an alias type.
func aliasLeaks(db *sql.DB) error {
	var t *TxAlias
	t, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if err := insertItems(t, nil); err != nil {
		return err
	}
	return t.Commit()
}

// rollbackHelper finishes through a method value.
func rollbackHelper(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	undo := tx.Rollback
	defer undo()
	if _, err := tx.Exec("UPDATE t SET n = 7"); err != nil {
		return err
	}
	return tx.Commit()
}
