// Package ext plays the role of a non-stdlib dependency.
package ext

import "database/sql"

// ConsumeRows drains and closes r.
func ConsumeRows(r *sql.Rows) {
	for r.Next() { // want "rows-err-not-checked"
	}
	_ = r.Close()
}
