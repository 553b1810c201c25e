package loopfix

import (
	"context"
	"database/sql"
	"io"
	"log"
	"net/http"
	"os"
)

// rangeRows: the rows fall off the end of each iteration.
func rangeRows(db *sql.DB, queries []string) (int, error) {
	n := 0
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			return 0, err
		}
		for rows.Next() { // want "rows-err-not-checked"
			n++
		}
	}
	return n, nil
}

// threeClauseRows acquires in a three-clause loop with QueryContext.
func threeClauseRows(ctx context.Context, db *sql.DB, max int) error {
	for i := 0; i < max; i++ {
		rows, err := db.QueryContext(ctx, "SELECT ?", i) // want "rows-not-closed"
		if err != nil {
			return err
		}
		_ = rows.Next()
	}
	return nil
}

// bodyPerURL: each response body falls off the end of the iteration.
func bodyPerURL(urls []string) (int, error) {
	total := 0
	for _, u := range urls {
		resp, err := http.Get(u) // want "body-not-closed"
		if err != nil {
			return 0, err
		}
		total += resp.StatusCode
	}
	return total, nil
}

// clientDoWhile: a condition-only loop with Client.Do.
func clientDoWhile(c *http.Client, req *http.Request, attempts int) int {
	status := 0
	for status != http.StatusOK && attempts > 0 {
		resp, err := c.Do(req) // want "body-not-closed"
		if err != nil {
			log.Fatal(err)
		}
		attempts--
		status = resp.StatusCode
	}
	return status
}

// filePerPath: each file falls off the end of the iteration.
func filePerPath(paths []string) (int64, error) {
	var total int64
	for _, p := range paths {
		f, err := os.Open(p) // want "file-not-closed"
		if err != nil {
			return 0, err
		}
		n, _ := io.Copy(io.Discard, f)
		total += n
	}
	return total, nil
}

// infiniteLoop: the break happens before the acquisition.
func infiniteLoop(db *sql.DB, next func() (string, bool)) error {
	for {
		q, ok := next()
		if !ok {
			break
		}
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			return err
		}
		if rows.Next() {
			log.Println("got a row")
		} else {
			log.Println("empty")
		}
	}
	return nil
}

// innerBreak: the break only leaves the inner loop.
func innerBreak(db *sql.DB, queries []string, max int) error {
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			return err
		}
		seen := 0
		for rows.Next() { // want "rows-err-not-checked"
			seen++
			if seen >= max {
				break
			}
		}
	}
	return nil
}

// nestedLoops acquires in the inner loop; the fix goes at the end of the
// inner loop body.
func nestedLoops(groups [][]string) (int64, error) {
	var size int64
	for _, g := range groups {
		for _, p := range g {
			f, err := os.Create(p) // want "file-not-closed"
			if err != nil {
				panic(err)
			}
			if st, err := f.Stat(); err == nil {
				size += st.Size()
			}
		}
		log.Println("group done")
	}
	return size, nil
}

// customNames uses non-conventional variable names.
func customNames(urls []string) int {
	ok := 0
	for _, u := range urls {
		r, gerr := http.Head(u) // want "body-not-closed"
		if gerr != nil {
			return ok
		}
		if r.StatusCode == http.StatusOK {
			ok++
		}
	}
	return ok
}

// continueInErrCheck: the continue is in the error branch, where rows is
// nil, so the only unclosed path is the end of the iteration.
func continueInErrCheck(db *sql.DB, queries []string) int {
	n := 0
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			continue
		}
		if rows.Next() {
			n++
		}
	}
	return n
}
