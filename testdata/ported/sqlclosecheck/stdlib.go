package sqlclosecheck

import (
	"database/sql"
	"errors"
	"log"
)

// titlesNeverClosed iterates and checks Err, but never closes.
func titlesNeverClosed(year int) []string {
	rs, err := store.QueryContext(bg, "SELECT title FROM books WHERE year = ?", year) // want "rows-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			log.Fatal(err)
		}
		out = append(out, t)
	}
	if err := rs.Err(); err != nil {
		log.Fatal(err)
	}
	return out
}

// drainedWithoutClose walks every row and neither closes nor checks Err.
func drainedWithoutClose() {
	rs, _ := store.Query("SELECT id FROM books") // want "rows-not-closed"
	for rs.Next() {
	}
}

// drainedWithoutCloseGeneric is the same inside a generic function.
func drainedWithoutCloseGeneric[N ~int64](limit N) {
	rs, _ := store.Query("SELECT id FROM books LIMIT ?", int64(limit)) // want "rows-not-closed"
	for rs.Next() {
	}
}

// iteratedNoErrNoClose reads names and skips both Err and Close.
func iteratedNoErrNoClose(year int) []string {
	rs, err := store.QueryContext(bg, "SELECT name FROM authors WHERE born = ?", year) // want "rows-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	var names []string
	for rs.Next() {
		var n string
		if err := rs.Scan(&n); err != nil {
			log.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

func inspectOnly(*sql.Rows) {}

// givenToNonClosingHelper hands the rows to a function that ignores them.
func givenToNonClosingHelper() {
	rs, err := store.QueryContext(bg, "SELECT name FROM authors") // want "rows-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	inspectOnly(rs)
}

type cursorHolder struct {
	cur *sql.Rows
}

func (h *cursorHolder) forget() {
	// intentionally does not close h.cur
}

// keptInFieldNeverClosed stores the rows in a field; the cleanup method does nothing.
func (h *cursorHolder) keptInFieldNeverClosed() {
	rs, err := store.QueryContext(bg, "SELECT name FROM authors") // want "rows-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	h.cur = rs
	for rs.Next() {
	}
	h.forget()
	if err := rs.Err(); err != nil {
		log.Fatal(err)
	}
}

// preparedNeverClosed prepares with a context and never closes.
func preparedNeverClosed(id int) string {
	st, err := store.PrepareContext(bg, "SELECT name FROM authors WHERE id = ?") // want "stmt-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	var name string
	err = st.QueryRowContext(bg, id).Scan(&name)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		log.Fatalf("author %d missing", id)
	case err != nil:
		log.Fatal(err)
	}
	return name
}

// preparedForExec prepares without context and only execs.
func preparedForExec(ids []int) error {
	st, err := store.Prepare("DELETE FROM books WHERE id = ?") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	for _, id := range ids {
		if _, err := st.Exec(id); err != nil {
			return err
		}
	}
	return nil
}

// txPreparedNeverClosed prepares on a transaction.
func txPreparedNeverClosed(tx *sql.Tx) error {
	st, err := tx.PrepareContext(bg, "UPDATE books SET stock = stock - 1 WHERE id = ?") // want "stmt-not-closed"
	if err != nil {
		return err
	}
	_, err = st.Exec(7)
	return err
}

// txRowsNeverClosed queries on a transaction.
func txRowsNeverClosed(tx *sql.Tx) (int, error) {
	rs, err := tx.QueryContext(bg, "SELECT id FROM books") // want "rows-not-closed"
	if err != nil {
		return 0, err
	}
	n := 0
	for rs.Next() {
		n++
	}
	return n, rs.Err()
}

// connRowsNeverClosed queries on a dedicated *sql.Conn (which is closed).
func connRowsNeverClosed() error {
	c, err := store.Conn(bg)
	if err != nil {
		return err
	}
	defer c.Close()
	rs, err := c.QueryContext(bg, "SELECT 1") // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rs.Err()
}

// stmtRowsNeverClosed closes the statement but not the rows it produced.
func stmtRowsNeverClosed() error {
	st, err := store.Prepare("SELECT id FROM books WHERE year > ?")
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := st.Query(1990) // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rs.Err()
}

// closedAtTheEndNoDefer closes without defer on the only normal path
// (sqlclosecheck's default mode still wants a defer).
func closedAtTheEndNoDefer() []string {
	rs, err := store.QueryContext(bg, "SELECT title FROM books") // want "rows-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	var out []string
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			log.Fatal(err)
		}
		out = append(out, t)
	}
	if err := rs.Err(); err != nil {
		log.Fatal(err)
	}
	rs.Close()
	return out
}

// stmtClosedAtTheEndNoDefer is the statement variant.
func stmtClosedAtTheEndNoDefer(id int) string {
	st, err := store.PrepareContext(bg, "SELECT title FROM books WHERE id = ?") // want "stmt-not-closed"
	if err != nil {
		log.Fatal(err)
	}
	var t string
	if err := st.QueryRowContext(bg, id).Scan(&t); err != nil {
		log.Fatal(err)
	}
	st.Close()
	return t
}

// closedAtTheEndEarlyReturn closes without defer and returns early from the loop.
func closedAtTheEndEarlyReturn() (string, error) {
	rs, err := store.Query("SELECT title FROM books") // want "rows-not-closed"
	if err != nil {
		return "", err
	}
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			return "", err
		}
		if t != "" {
			return t, nil
		}
	}
	if err := rs.Err(); err != nil {
		return "", err
	}
	rs.Close()
	return "", nil
}

// openCursor is a local function returning rows to its caller.
func openCursor() (*sql.Rows, error) {
	return store.Query("SELECT id FROM books")
}

// cursorFromHelperNeverClosed gets rows from a local helper and never closes them.
func cursorFromHelperNeverClosed() int {
	rs, err := openCursor() // want "rows-not-closed"
	if err != nil {
		return 0
	}
	n := 0
	for rs.Next() {
		n++
	}
	if rs.Err() != nil {
		return -1
	}
	return n
}
