package rows

import (
	"database/sql"

	"rehabtest/ext"
)

// passedToOtherPackage: ext.ConsumeRows is not stdlib, so it may take ownership.
func passedToOtherPackage(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	ext.ConsumeRows(rows)
	return nil
}
