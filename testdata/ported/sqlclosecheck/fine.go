package sqlclosecheck

import (
	"database/sql"
	"log"
	"math/rand"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jmoiron/sqlx"
)

// deferredRowsClose is the ordinary pattern.
func deferredRowsClose() ([]string, error) {
	rs, err := store.QueryContext(bg, "SELECT title FROM books")
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []string
	for rs.Next() {
		var t string
		if err := rs.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rs.Err()
}

// deferredLiteralRowsClose closes in a deferred literal and logs the error.
func deferredLiteralRowsClose() error {
	rs, err := store.QueryContext(bg, "SELECT title FROM books")
	if err != nil {
		return err
	}
	defer func() {
		if err := rs.Close(); err != nil {
			log.Print("closing rows failed")
		}
	}()
	for rs.Next() {
	}
	return rs.Err()
}

// deferredStmtClose closes the statement.
func deferredStmtClose() error {
	st, err := store.PrepareContext(bg, "DELETE FROM books WHERE id = ?")
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = st.Exec(1)
	return err
}

// deferredLiteralStmtClose closes the statement in a literal.
func deferredLiteralStmtClose() error {
	st, err := store.Prepare("DELETE FROM books WHERE id = ?")
	if err != nil {
		return err
	}
	defer func() {
		_ = st.Close()
	}()
	_, err = st.Exec(1)
	return err
}

func shutRows(rs *sql.Rows) {
	rs.Close()
}

// givenToClosingHelper hands the rows to a function that closes them.
func givenToClosingHelper() {
	rs, err := store.QueryContext(bg, "SELECT name FROM authors")
	if err != nil {
		log.Fatal(err)
	}
	shutRows(rs)
}

// returnedRows leaves closing to the caller.
func returnedRows() (*sql.Rows, error) {
	rs, err := store.Query("SELECT id FROM books")
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// returnedStmt leaves closing to the caller.
func returnedStmt() (*sql.Stmt, error) {
	return store.Prepare("SELECT id FROM books WHERE id = ?")
}

// returnedSqlxRows leaves closing to the caller.
func returnedSqlxRows(year int) (*sqlx.Rows, error) {
	rs, err := xstore.Queryx("SELECT title FROM books WHERE year = ?", year)
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// returnedPgxRowsLong returns pgx rows after a check.
func returnedPgxRowsLong() (pgx.Rows, error) {
	rs, err := pgt.Query(bg, "SELECT login FROM accounts")
	if err != nil {
		return nil, err
	}
	return rs, nil
}

// returnedPgxRowsShort returns the call directly (conn and pool).
func returnedPgxRowsShort(usePool bool) (pgx.Rows, error) {
	if usePool {
		return pgp.Query(bg, "SELECT login FROM accounts")
	}
	return pgc.Query(bg, "SELECT login FROM accounts")
}

type service struct {
	prepared *sqlx.Stmt
}

func (s *service) shutdown() {
	s.prepared.Close()
}

// storedThenClosedByMethod stores the statement and a method closes it.
func (s service) storedThenClosedByMethod() {
	st, err := xstore.Preparex("SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	s.prepared = st
	log.Print(st.QueryRowx())
	s.shutdown()
}

func releaseStmt(st *sqlx.Stmt) {
	if st != nil {
		st.Close()
	}
}

// deferredClosingHelper defers a helper that closes.
func deferredClosingHelper() {
	st, err := xstore.Preparex("SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	defer releaseStmt(st)
	log.Print(st.QueryRowx())
}

var (
	insertOnce sync.Once
	insertStmt *sql.Stmt
	insertErr  error
)

// lazyGlobalStmt prepares a package-level statement once.
func lazyGlobalStmt() error {
	insertOnce.Do(func() {
		insertStmt, insertErr = store.Prepare("INSERT INTO hits (n) VALUES (1)")
	})
	if insertErr != nil {
		return insertErr
	}
	_, err := insertStmt.Exec()
	return err
}

// globalStmtUser closes the global statement on the way out.
func globalStmtUser() {
	defer func() {
		if insertStmt != nil {
			_ = insertStmt.Close()
		}
	}()
	for i := 0; i < 10; i++ {
		if rand.Intn(5) == 0 {
			if err := lazyGlobalStmt(); err != nil {
				return
			}
		}
	}
}

// pgxDeferredLiteral closes pgx rows (tx, conn, pool) in deferred literals.
func pgxDeferredLiteral() {
	a, err := pgt.Query(bg, "SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { a.Close() }()
	b, err := pgc.Query(bg, "SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { b.Close() }()
	c, err := pgp.Query(bg, "SELECT 1")
	if err != nil {
		log.Fatal(err)
	}
	defer func() { c.Close() }()
}

// pgxDeferredClose is the ordinary pgx pattern.
func pgxDeferredClose() error {
	rs, err := pgp.Query(bg, "SELECT login FROM accounts")
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
	}
	return rs.Err()
}

// sqlxGenericDeferred closes sqlx rows in a generic function.
func sqlxGenericDeferred[N ~int64](year N) error {
	rs, err := xstore.Queryx("SELECT title FROM books WHERE year = ?", int64(year))
	if err != nil {
		return err
	}
	defer rs.Close()
	for rs.Next() {
	}
	return rs.Err()
}

// sqlxNamedDeferred closes a named statement.
func sqlxNamedDeferred() error {
	st, err := xstore.PrepareNamed("DELETE FROM books WHERE id = :id")
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = st.Exec(map[string]any{"id": 1})
	return err
}

// singleRowNeedsNoClose uses QueryRow, which has nothing to close.
func singleRowNeedsNoClose(id int) (string, error) {
	var t string
	err := store.QueryRowContext(bg, "SELECT title FROM books WHERE id = ?", id).Scan(&t)
	return t, err
}

// pgxSingleRowNeedsNoClose uses pgx QueryRow.
func pgxSingleRowNeedsNoClose() (string, error) {
	var s string
	err := pgp.QueryRow(bg, "SELECT login FROM accounts LIMIT 1").Scan(&s)
	return s, err
}

// sqlxSelectClosesInternally uses Select, which closes its own rows.
func sqlxSelectClosesInternally() ([]string, error) {
	var out []string
	err := xstore.Select(&out, "SELECT title FROM books")
	return out, err
}
