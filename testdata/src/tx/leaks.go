package tx

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// earlyReturnAfterBegin: a failed Exec returns without Rollback.
func earlyReturnAfterBegin(db *sql.DB) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE accounts SET n = n + 1"); err != nil {
		return err
	}
	return tx.Commit()
}

// earlyReturnAfterBeginTx: the same with a context and options.
func earlyReturnAfterBeginTx(ctx context.Context, db *sql.DB, id int64) error {
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable}) // want "tx-not-finished"
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM sessions WHERE user_id = $1", id); err != nil {
		return fmt.Errorf("delete sessions: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM users WHERE id = $1", id); err != nil {
		return fmt.Errorf("delete user: %w", err)
	}
	return tx.Commit()
}

// validationBranch: a validation failure returns before Commit.
func validationBranch(ctx context.Context, db *sql.DB, from, to int64, amount int) error {
	tx, err := db.BeginTx(ctx, nil) // want "tx-not-finished"
	if err != nil {
		return err
	}
	var balance int
	if err := tx.QueryRowContext(ctx, "SELECT balance FROM accounts WHERE id = $1", from).Scan(&balance); err != nil {
		_ = tx.Rollback()
		return err
	}
	if balance < amount {
		return errors.New("insufficient funds")
	}
	if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance - $1 WHERE id = $2", amount, from); err != nil {
		_ = tx.Rollback()
		return err
	}
	if _, err := tx.ExecContext(ctx, "UPDATE accounts SET balance = balance + $1 WHERE id = $2", amount, to); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// commitOnlyInIf: when dryRun is set the transaction is neither committed nor rolled back.
func commitOnlyInIf(db *sql.DB, dryRun bool) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	if _, err := tx.Exec("UPDATE jobs SET state = 'done'"); err != nil {
		_ = tx.Rollback()
		return err
	}
	if !dryRun {
		return tx.Commit()
	}
	return nil
}

// commitStatementInIf: Commit is a statement in one branch only.
func commitStatementInIf(db *sql.DB, ok bool) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	_, err = tx.Exec("INSERT INTO audit(msg) VALUES ('x')")
	if ok && err == nil {
		err = tx.Commit()
	}
	return err
}

// beginOnConn: a transaction on a dedicated connection.
func beginOnConn(ctx context.Context, conn *sql.Conn, name string) (int64, error) {
	tx, err := conn.BeginTx(ctx, nil) // want "tx-not-finished"
	if err != nil {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, "INSERT INTO tags(name) VALUES ($1)", name)
	if err != nil {
		return 0, err
	}
	id, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	return id, tx.Commit()
}

// assignedTx: the transaction is assigned to a declared variable.
func assignedTx(db *sql.DB, n int) error {
	var tx *sql.Tx
	var err error
	tx, err = db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		if _, err = tx.Exec("INSERT INTO t(n) VALUES ($1)", i); err != nil {
			return err
		}
	}
	return tx.Commit()
}

// switchCaseLeaks: one case returns without finishing the transaction.
func switchCaseLeaks(db *sql.DB, op string) error {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		return err
	}
	switch op {
	case "insert":
		_, err = tx.Exec("INSERT INTO t DEFAULT VALUES")
	case "delete":
		_, err = tx.Exec("DELETE FROM t")
	default:
		return fmt.Errorf("unknown op %q", op)
	}
	if err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// panicOnErrNormalReturnLeaks: errors panic, but the normal return never commits.
func panicOnErrNormalReturnLeaks(db *sql.DB) int {
	tx, err := db.Begin() // want "tx-not-finished"
	if err != nil {
		panic(err)
	}
	var n int
	if err := tx.QueryRow("SELECT count(*) FROM t").Scan(&n); err != nil {
		panic(err)
	}
	return n
}

// appTx is a module's own wrapper: it embeds *sql.Tx.
type appTx struct {
	*sql.Tx
	user string
}

func beginApp(db *sql.DB, user string) (*appTx, error) {
	tx, err := db.Begin()
	if err != nil {
		return nil, err
	}
	return &appTx{Tx: tx, user: user}, nil
}

// wrapperLeaks: the wrapper embeds *sql.Tx, so it is a transaction too.
func wrapperLeaks(db *sql.DB) error {
	t, err := beginApp(db, "admin") // want "tx-not-finished"
	if err != nil {
		return err
	}
	if t.user == "" {
		return errors.New("no user")
	}
	return t.Commit()
}
