package rows

import "database/sql"

type rowsHolder struct {
	rows *sql.Rows
}

type rowsWrapper struct {
	*sql.Rows
}

var pendingRows *sql.Rows

// returned hands the rows to the caller.
func returned(db *sql.DB) (*sql.Rows, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return nil, err
	}
	return rows, nil
}

// returnedWrapped hands the rows to the caller inside a wrapper.
func returnedWrapped(db *sql.DB) (*rowsWrapper, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return nil, err
	}
	return &rowsWrapper{rows}, nil
}

// storedInField keeps the rows in a struct field.
func (h *rowsHolder) storedInField(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	h.rows = rows
	return nil
}

// storedInGlobal keeps the rows in a package-level variable.
func storedInGlobal(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	pendingRows = rows
	return nil
}

// storedInMap keeps the rows in a map.
func storedInMap(db *sql.DB, m map[string]*sql.Rows) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	m["q"] = rows
	return nil
}

// appendedToSlice keeps the rows in a caller-owned slice.
func appendedToSlice(db *sql.DB, out *[]*sql.Rows) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	*out = append(*out, rows)
	return nil
}

// sentOnChannel hands the rows to a receiver.
func sentOnChannel(db *sql.DB, ch chan<- *sql.Rows) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	ch <- rows
	return nil
}

// closedByGoroutine hands the rows to a goroutine that closes them.
func closedByGoroutine(db *sql.DB, done chan<- int) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	go func() {
		defer rows.Close()
		n := 0
		for rows.Next() { // want "rows-err-not-checked"
			n++
		}
		done <- n
	}()
	return nil
}

// passedToClosingHelper: drainAndClose closes its parameter.
func passedToClosingHelper(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	return drainAndClose(rows)
}

func drainAndClose(r *sql.Rows) error {
	for r.Next() { // want "rows-err-not-checked"
	}
	return r.Close()
}

// passedToUnknownFunc: consume is unknown and may take ownership.
func passedToUnknownFunc(db *sql.DB, consume func(*sql.Rows)) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	consume(rows)
	return nil
}

// transferredOnSomePaths returns the rows on one path and drops them on
// another: reported, but without a fix.
func transferredOnSomePaths(db *sql.DB, keep bool) (*sql.Rows, error) {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return nil, err
	}
	if keep {
		return rows, nil
	}
	return nil, nil
}

// storedOnSomePaths stores the rows only when keep is set: reported, no fix.
func (h *rowsHolder) storedOnSomePaths(db *sql.DB, keep bool) error {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	if keep {
		h.rows = rows
	}
	return nil
}
