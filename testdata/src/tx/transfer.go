package tx

import (
	"context"
	"database/sql"
)

// finish commits or rolls back the transaction it is given.
func finish(tx *sql.Tx, err error) error {
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// handedToHelper: finish ends the transaction on every path.
func handedToHelper(db *sql.DB, id int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	_, err = tx.Exec("DELETE FROM t WHERE id = $1", id)
	return finish(tx, err)
}

// returnTx hands the transaction to the caller.
func returnTx(ctx context.Context, db *sql.DB) (*sql.Tx, error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	if _, err := tx.ExecContext(ctx, "SET LOCAL lock_timeout = '1s'"); err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	return tx, nil
}

type unitOfWork struct {
	db *sql.DB
	tx *sql.Tx
}

// begin stores the transaction in a struct field; Commit and Rollback end it later.
func (u *unitOfWork) begin(ctx context.Context) error {
	tx, err := u.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	u.tx = tx
	return nil
}

func (u *unitOfWork) commit() error   { return u.tx.Commit() }
func (u *unitOfWork) rollback() error { return u.tx.Rollback() }

// newUnitOfWork returns the transaction inside a struct.
func newUnitOfWork(db *sql.DB) (*unitOfWork, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	return &unitOfWork{db: db, tx: tx}, nil
}

// runInTx runs fn and nothing else: the closure decides.
func runInTx(fn func() error) error {
	return fn()
}

// closureFinishes: the transaction is captured by a closure given to a callback runner,
// and the closure finishes it.
func closureFinishes(db *sql.DB, n int) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	return runInTx(func() error {
		defer tx.Rollback() // want "unchecked-error"
		if _, err := tx.Exec("UPDATE t SET n = $1", n); err != nil {
			return err
		}
		return tx.Commit()
	})
}

// closureToUnknownRunner: the runner is a parameter; it may keep the closure.
func closureToUnknownRunner(db *sql.DB, run func(func() error)) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	run(func() error {
		if _, err := tx.Exec("UPDATE t SET n = 0"); err != nil {
			_ = tx.Rollback()
			return err
		}
		return tx.Commit()
	})
	return nil
}

// sendTx hands the transaction to a receiver.
func sendTx(db *sql.DB, ch chan<- *sql.Tx) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	ch <- tx
	return nil
}

// goroutineFinishes hands the transaction to a goroutine that finishes it.
func goroutineFinishes(db *sql.DB, done chan<- error) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	go func() {
		defer tx.Rollback() // want "unchecked-error"
		if _, err := tx.Exec("VACUUM"); err != nil {
			done <- err
			return
		}
		done <- tx.Commit()
	}()
	return nil
}
