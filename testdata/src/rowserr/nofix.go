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

// perUser closes the rows itself after the loop: a return inserted there would skip the
// Close (as rows-not-closed sees it), so no fix is offered.
func perUser(db *sql.DB, ids []int) (map[int][]string, error) {
	out := map[int][]string{}
	for _, id := range ids {
		rows, err := db.Query("SELECT role FROM roles WHERE user_id = ?", id)
		if err != nil {
			return nil, err
		}
		for rows.Next() { // want "rows-err-not-checked"
			var r string
			if err := rows.Scan(&r); err != nil {
				_ = rows.Close()
				return nil, err
			}
			out[id] = append(out[id], r)
		}
		_ = rows.Close()
	}
	return out, nil
}
