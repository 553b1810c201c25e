package rows

import (
	dbsql "database/sql"
)

// aliasedImportLeak uses database/sql imported under another name.
func aliasedImportLeak(db *dbsql.DB) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	_ = rows.Next()
	return nil
}

// aliasedOpenLeak opens the DB through the aliased package.
func aliasedOpenLeak() error {
	db, err := dbsql.Open("postgres", "dsn")
	if err != nil {
		return err
	}
	defer db.Close()                  // want "unchecked-error"
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rows.Err()
}

// aliasedTxClosed is fine.
func aliasedTxClosed(tx *dbsql.Tx) error {
	rows, err := tx.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	return rows.Err()
}
