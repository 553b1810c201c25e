package rowserr

import (
	"database/sql"
	"log"
)

// count returns no error: reported, with no fix to offer.
func count(db *sql.DB) int {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0
	}
	defer rows.Close()
	n := 0
	for rows.Next() { // want "rows.Err\\(\\) is not checked after the loop"
		n++
	}
	return n
}

// logNames runs in the background and returns nothing.
func logNames(db *sql.DB) {
	go func() {
		rows, err := db.Query("SELECT name FROM users")
		if err != nil {
			log.Print(err)
			return
		}
		defer rows.Close()
		for { // want "rows-err-not-checked"
			if !rows.Next() {
				break
			}
			var n string
			_ = rows.Scan(&n)
			log.Print(n)
		}
	}()
}

// errorNotLast: the error is not the last result, so the fix cannot return it.
func errorNotLast(db *sql.DB) (error, int) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err, 0
	}
	defer rows.Close()
	n := 0
	for rows.Next() { // want "rows-err-not-checked"
		n++
	}
	return nil, n
}
