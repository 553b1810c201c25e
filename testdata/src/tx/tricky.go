package tx

import (
	"database/sql"
	"errors"
)

// forgottenCleanup: the cleanup func is not called on the validation path.
func forgottenCleanup(db *sql.DB, n int) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	rollback := func() { _ = tx.Rollback() }
	if _, err := tx.Exec("UPDATE t SET n = $1", n); err != nil {
		rollback()
		return err
	}
	if n < 0 {
		return errors.New("negative")
	}
	return tx.Commit()
}

// cleanupCalled: the same shape with the cleanup func called on every error path.
func cleanupCalled(db *sql.DB, n int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	rollback := func() { _ = tx.Rollback() }
	if _, err := tx.Exec("UPDATE t SET n = $1", n); err != nil {
		rollback()
		return err
	}
	if n < 0 {
		rollback()
		return errors.New("negative")
	}
	return tx.Commit()
}

// beginInIfInit: the transaction lives in the if statement and is never finished.
func beginInIfInit(db *sql.DB) error {
	if tx, err := db.Begin(); err == nil { // want "tx-not-finished"
		_, err = tx.Exec("UPDATE t SET n = 8")
		return err
	}
	return nil
}

// shadowedTx: the deferred Rollback finishes the inner transaction only.
func shadowedTx(db *sql.DB, nested bool) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if nested {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		defer tx.Rollback() // want "unchecked-error"
		if _, err := tx.Exec("UPDATE t SET n = 9"); err != nil {
			return err
		}
		return tx.Commit()
	}
	_, err = tx.Exec("UPDATE t SET n = 10")
	return err
}

// deferredCommit ends the transaction on every path (an odd, but finishing, shape).
func deferredCommit(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Commit() // want "unchecked-error"
	_, err = tx.Exec("INSERT INTO log(msg) VALUES ('x')")
	return err
}

// finishedInSwitch: every case finishes the transaction.
func finishedInSwitch(db *sql.DB, mode int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	_, err = tx.Exec("UPDATE t SET n = 11")
	switch {
	case err != nil:
		_ = tx.Rollback()
		return err
	case mode == 0:
		return tx.Rollback()
	default:
		return tx.Commit()
	}
}
