package loopfix

import (
	"database/sql"
	"io"
	"net/http"
	"os"
)

// closureDefer scopes the defer with a func literal per iteration.
func closureDefer(db *sql.DB, queries []string) error {
	for _, q := range queries {
		err := func() error {
			rows, err := db.Query(q)
			if err != nil {
				return err
			}
			defer rows.Close()
			return rows.Err()
		}()
		if err != nil {
			return err
		}
	}
	return nil
}

// explicitCloseAtEnd closes at the end of every iteration.
func explicitCloseAtEnd(urls []string) (int, error) {
	total := 0
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			return 0, err
		}
		total += resp.StatusCode
		resp.Body.Close()
	}
	return total, nil
}

// checkedCloseAtEnd closes and checks the Close error.
func checkedCloseAtEnd(paths []string) error {
	for _, p := range paths {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if _, err := f.WriteString("x"); err != nil {
			_ = f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// closeBeforeContinue closes before the continue and at the end.
func closeBeforeContinue(db *sql.DB, queries []string) int {
	n := 0
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			return n
		}
		if !rows.Next() {
			rows.Close()
			continue
		}
		n++
		rows.Close()
	}
	return n
}

// helperClosesEachIteration hands each file to a closing helper.
func helperClosesEachIteration(paths []string) (int64, error) {
	var total int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return 0, err
		}
		n, err := drainAndClose(f)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func drainAndClose(f *os.File) (int64, error) {
	n, err := io.Copy(io.Discard, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// returnedFromLoop hands the first successful result to the caller.
func returnedFromLoop(db *sql.DB, queries []string) (*sql.Rows, error) {
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			return nil, err
		}
		return rows, nil
	}
	return nil, nil
}

// acquiredBeforeLoop is not a loop acquisition.
func acquiredBeforeLoop(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}
