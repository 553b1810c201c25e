package rows

import "database/sql"

// queryInRangeLoopLeaks acquires inside a range loop: reported, closed at the end of the iteration.
func queryInRangeLoopLeaks(db *sql.DB, queries []string) error {
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			return err
		}
		_ = rows.Next()
	}
	return nil
}

// queryInForLoopLeaks acquires inside a three-clause loop: reported, closed at the end of the iteration.
func queryInForLoopLeaks(db *sql.DB, n int) {
	for i := 0; i < n; i++ {
		rows, err := db.Query("SELECT ?", i) // want "rows-not-closed"
		if err != nil {
			continue
		}
		for rows.Next() { // want "rows-err-not-checked"
		}
	}
}

// queryInLoopContinueLeaks closes at the end of the iteration, but the
// continue skips the Close: reported, no fix.
func queryInLoopContinueLeaks(db *sql.DB, queries []string) int {
	total := 0
	for _, q := range queries {
		rows, err := db.Query(q) // want "rows-not-closed"
		if err != nil {
			continue
		}
		if !rows.Next() {
			continue
		}
		total++
		rows.Close()
	}
	return total
}

// queryInLoopClosed closes every iteration.
func queryInLoopClosed(db *sql.DB, queries []string) error {
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			return err
		}
		for rows.Next() { // want "rows-err-not-checked"
		}
		if err := rows.Close(); err != nil {
			return err
		}
	}
	return nil
}

// queryInLoopClosure scopes the defer with a func literal per iteration.
func queryInLoopClosure(db *sql.DB, queries []string) error {
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

// queryInLoopHelperCloses hands each result to a closing helper.
func queryInLoopHelperCloses(db *sql.DB, queries []string) error {
	for _, q := range queries {
		rows, err := db.Query(q)
		if err != nil {
			return err
		}
		if err := drainAndClose(rows); err != nil {
			return err
		}
	}
	return nil
}
