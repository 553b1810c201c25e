package mixed

import (
	"context"
	"database/sql"
	"log"
	"net/http"
	"os"
)

// ignoredQueryError drops the error with _: fix rule 2.
func ignoredQueryError(db *sql.DB) int {
	rows, _ := db.Query("SELECT 1") // want "rows-not-closed"
	n := 0
	for rows.Next() { // want "rows-err-not-checked"
		n++
	}
	return n
}

// ignoredGetError drops the error with _: fix rule 2.
func ignoredGetError(u string) int {
	resp, _ := http.Get(u) // want "body-not-closed"
	return resp.StatusCode
}

// ignoredOpenError drops the error with _: fix rule 2.
func ignoredOpenError(p string) []byte {
	f, _ := os.Open(p) // want "file-not-closed"
	buf := make([]byte, 16)
	n, _ := f.Read(buf)
	return buf[:n]
}

// ignoredClientDoError drops the error of a client call: fix rule 2.
func ignoredClientDoError(c *http.Client, req *http.Request) string {
	res, _ := c.Do(req) // want "body-not-closed"
	return res.Status
}

// errorCheckedLater checks the error only after another statement: fix rule 2.
func errorCheckedLater(ctx context.Context, db *sql.DB) error {
	rows, err := db.QueryContext(ctx, "SELECT 1") // want "rows-not-closed"
	log.Printf("query issued")
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	return rows.Err()
}

// errBranchDoesNotLeave logs the error but falls through: fix rule 2.
func errBranchDoesNotLeave(db *sql.DB) bool {
	rows, err := db.Query("SELECT 1") // want "rows-not-closed"
	if err != nil {
		log.Printf("query failed: %v", err)
	}
	return rows != nil && rows.Next()
}

// errCheckWithElse has an else branch on the error check: fix rule 2.
func errCheckWithElse(p string) (int64, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return 0, err
	} else {
		log.Printf("opened %s", p)
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// errCheckOnOtherVariable checks an unrelated error first: fix rule 2.
func errCheckOnOtherVariable(p string, prior error) error {
	f, err := os.Create(p) // want "file-not-closed"
	if prior != nil {
		return prior
	}
	if err != nil {
		return err
	}
	_, err = f.WriteString("data")
	return err
}

// multiLineCallCheckedLater spans several lines; the fix goes on the last
// line of the statement: fix rule 2.
func multiLineCallCheckedLater(ctx context.Context, db *sql.DB, id int) error {
	rows, err := db.QueryContext(ctx, // want "rows-not-closed"
		"SELECT name FROM users WHERE id = ?",
		id,
	)
	log.Printf("looked up %d", id)
	if err != nil {
		return err
	}
	return rows.Err()
}

// multiLineCallChecked spans several lines and is followed by the error
// check: fix rule 1.
func multiLineCallChecked(ctx context.Context, db *sql.DB, id int) error {
	rows, err := db.QueryContext(ctx, // want "rows-not-closed"
		"SELECT name FROM users WHERE id = ?",
		id)
	if err != nil {
		return err
	}
	return rows.Err()
}

// errorCheckedLaterButClosed: the only unclosed path is the err != nil
// branch of a later error check, where rows is nil.
func errorCheckedLaterButClosed(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	log.Printf("query issued")
	if err != nil {
		return err
	}
	defer rows.Close()
	return rows.Err()
}

// ignoredErrorClosed ignores the error but still defers a nil-safe close.
func ignoredErrorClosed(p string) {
	f, _ := os.Open(p)
	defer func() {
		if f != nil {
			_ = f.Close()
		}
	}()
}
