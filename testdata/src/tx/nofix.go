package tx

import (
	"context"
	"database/sql"
)

// beginInLoop: a failed Exec leaves the iteration's transaction open: reported, no fix.
func beginInLoop(ctx context.Context, db *sql.DB, batches [][]int) error {
	for _, batch := range batches {
		tx, err := db.BeginTx(ctx, nil) // want "tx-not-finished"
		if err != nil {
			return err
		}
		for _, id := range batch {
			if _, err := tx.ExecContext(ctx, "DELETE FROM t WHERE id = $1", id); err != nil {
				return err
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// beginInLoopContinue: continue skips the Commit: reported, no fix.
func beginInLoopContinue(db *sql.DB, ids []int) int {
	done := 0
	for _, id := range ids {
		tx, err := db.Begin() // want "tx-not-finished"
		if err != nil {
			continue
		}
		if _, err := tx.Exec("UPDATE t SET seen = true WHERE id = $1", id); err != nil {
			continue
		}
		if tx.Commit() == nil {
			done++
		}
	}
	return done
}

// beginDiscarded: the transaction is dropped: reported only (a transaction thrown away may be
// ended by the program's own SQL on its connection).
func beginDiscarded(db *sql.DB) bool {
	_, err := db.Begin() // want "tx-not-finished"
	return err == nil
}

// partialReturn returns the transaction on one path and leaks it on another: reported, no fix.
func partialReturn(db *sql.DB, check bool) (*sql.Tx, error) {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return nil, err
	}
	if check {
		if _, err := tx.Exec("SELECT 1"); err != nil {
			return nil, err
		}
	}
	return tx, nil
}
