package loopfix

import (
	"database/sql"
	"errors"
	"log"
	"net/http"
	"os"
)

// continueLeaves: the continue skips the close: reported, no fix.
func continueLeaves(db *sql.DB, queries []string) int {
	total := 0
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			return total
		}
		if !rows.Next() {
			continue
		}
		total++
		rows.Close()
	}
	return total
}

// breakLeaves: the break leaves the loop with the body open: no fix.
func breakLeaves(urls []string) string {
	for _, u := range urls {
		resp, err := http.Get(u) // want "body-not-closed"
		if err != nil {
			return ""
		}
		if resp.StatusCode == http.StatusOK {
			break
		}
		resp.Body.Close()
	}
	return "done"
}

// returnLeaves: the status return leaves the body open: no fix.
func returnLeaves(urls []string) error {
	for _, u := range urls {
		resp, err := http.Get(u) // want "body-not-closed"
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return errors.New(resp.Status)
		}
	}
	return nil
}

// scanReturnLeaves: a return inside the inner loop leaves the rows open.
func scanReturnLeaves(db *sql.DB, queries []string) ([]int, error) {
	var ids []int
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			return nil, err
		}
		for rows.Next() { // want "rows-err-not-checked"
			var id int
			if err := rows.Scan(&id); err != nil {
				return nil, err
			}
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// errCheckDoesNotLeave only logs the Open error: no fix.
func errCheckDoesNotLeave(paths []string) int {
	n := 0
	for _, p := range paths {
		f, err := os.Open(p) // want "file-not-closed"
		if err != nil {
			log.Printf("open: %v", err)
		}
		if f != nil {
			n++
		}
	}
	return n
}

// ignoredError has no error check at all: no fix.
func ignoredError(db *sql.DB, queries []string) int {
	n := 0
	for _, q := range queries {
		rows, _ := db.Query(q) // want "rows-not-closed"
		if rows != nil && rows.Next() {
			n++
		}
	}
	return n
}
