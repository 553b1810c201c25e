package rows

import (
	"context"
	"database/sql"
)

type server struct {
	db *sql.DB
}

var globalDB *sql.DB

// fieldReceiver queries through a struct field of a pointer receiver.
func (s *server) fieldReceiver() error {
	rows, err := s.db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// valueReceiverField queries through a struct field of a value receiver.
func (s server) valueReceiverField(ctx context.Context) error {
	rows, err := s.db.QueryContext(ctx, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rows.Err()
}

// globalReceiver queries through a package-level *sql.DB.
func globalReceiver() error {
	rows, err := globalDB.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// localOpen queries a *sql.DB obtained from sql.Open in the same function.
func localOpen() error {
	db, err := sql.Open("postgres", "dsn")
	if err != nil {
		return err
	}
	defer db.Close()                  // want "unchecked-error"
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// txLocal queries through a transaction started in the same function.
func txLocal(db *sql.DB) error {
	tx, err := db.Begin()
	if err != nil {
		return err
	}
	defer tx.Rollback()               // want "unchecked-error"
	rows, err := tx.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return tx.Commit()
}

// txParamContext queries through a *sql.Tx parameter.
func txParamContext(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rows.Err()
}

// connLocal queries through a *sql.Conn.
func connLocal(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()                              // want "unchecked-error"
	rows, err := conn.QueryContext(ctx, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// stmtLocal queries through a prepared *sql.Stmt.
func stmtLocal(db *sql.DB) error {
	stmt, err := db.Prepare("SELECT ?")
	if err != nil {
		return err
	}
	defer stmt.Close()
	rows, err := stmt.Query(1) // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// stmtParamContext queries through a *sql.Stmt parameter.
func stmtParamContext(ctx context.Context, stmt *sql.Stmt) error {
	rows, err := stmt.QueryContext(ctx, 1) // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rows.Err()
}
