package sqlclosecheck

import (
	"log"

	"github.com/jmoiron/sqlx"
)

// sqlxRowsNeverClosed uses Queryx.
func sqlxRowsNeverClosed(year int) []string {
	rs, err := xstore.Queryx("SELECT title FROM books WHERE year = ?", year) // want "rows-not-closed|resource-not-released"
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

// sqlxRowsContextNeverClosed uses QueryxContext.
func sqlxRowsContextNeverClosed() error {
	rs, err := xstore.QueryxContext(bg, "SELECT id FROM books") // want "rows-not-closed|resource-not-released"
	if err != nil {
		return err
	}
	return rs.Err()
}

// sqlxNamedQueryNeverClosed uses NamedQuery.
func sqlxNamedQueryNeverClosed(year int) error {
	rs, err := xstore.NamedQuery("SELECT id FROM books WHERE year = :y", map[string]any{"y": year}) // want "rows-not-closed|resource-not-released"
	if err != nil {
		return err
	}
	for rs.Next() {
	}
	return rs.Err()
}

// sqlxEmbeddedQueryNeverClosed calls the *sql.DB method promoted through sqlx.DB.
func sqlxEmbeddedQueryNeverClosed() error {
	rs, err := xstore.Query("SELECT id FROM books") // want "rows-not-closed"
	if err != nil {
		return err
	}
	return rs.Err()
}

// sqlxTxRowsNeverClosed queries on an sqlx transaction.
func sqlxTxRowsNeverClosed(tx *sqlx.Tx) error {
	rs, err := tx.Queryx("SELECT id FROM books") // want "rows-not-closed|resource-not-released"
	if err != nil {
		return err
	}
	return rs.Err()
}

// sqlxStmtNeverClosed uses Preparex.
func sqlxStmtNeverClosed() {
	st, err := xstore.Preparex("SELECT 1") // want "stmt-not-closed|resource-not-released"
	if err != nil {
		log.Fatal(err)
	}
	log.Print(st.QueryRowx())
}

// sqlxStmtContextNeverClosed uses PreparexContext.
func sqlxStmtContextNeverClosed() error {
	st, err := xstore.PreparexContext(bg, "DELETE FROM books WHERE id = ?") // want "stmt-not-closed|resource-not-released"
	if err != nil {
		return err
	}
	_, err = st.Exec(3)
	return err
}

// sqlxNamedStmtNeverClosed uses PrepareNamed.
func sqlxNamedStmtNeverClosed() {
	st, err := xstore.PrepareNamed("SELECT * FROM books WHERE id = :id") // want "stmt-not-closed|resource-not-released"
	if err != nil {
		log.Fatal(err)
	}
	_ = st
}

// sqlxNamedStmtContextNeverClosed uses PrepareNamedContext.
func sqlxNamedStmtContextNeverClosed() error {
	st, err := xstore.PrepareNamedContext(bg, "DELETE FROM books WHERE id = :id") // want "stmt-not-closed|resource-not-released"
	if err != nil {
		return err
	}
	_, err = st.Exec(map[string]any{"id": 1})
	return err
}

// sqlxNamedStmtRowsNeverClosed closes the named statement but not its rows.
func sqlxNamedStmtRowsNeverClosed() error {
	st, err := xstore.PrepareNamed("SELECT id FROM books WHERE year = :y")
	if err != nil {
		return err
	}
	defer st.Close()
	rs, err := st.Queryx(map[string]any{"y": 2001}) // want "rows-not-closed|resource-not-released"
	if err != nil {
		return err
	}
	return rs.Err()
}

func keepStmt(st *sqlx.Stmt) {
	if st != nil {
		log.Print("kept")
	}
}

// sqlxStmtDeferredNonClosingHelper defers a helper that does not close.
func sqlxStmtDeferredNonClosingHelper() {
	st, err := xstore.Preparex("SELECT 1") // want "stmt-not-closed|resource-not-released"
	if err != nil {
		log.Fatal(err)
	}
	defer keepStmt(st)
	log.Print(st.QueryRowx())
}

// pgxTxRowsNeverClosed queries on a pgx.Tx.
func pgxTxRowsNeverClosed() {
	rs, err := pgt.Query(bg, "SELECT login FROM accounts") // want "rows-not-closed|resource-not-released"
	if err != nil {
		log.Fatal(err)
	}
	_ = rs
}

// pgxConnRowsNeverClosed queries on a *pgx.Conn.
func pgxConnRowsNeverClosed() {
	rs, err := pgc.Query(bg, "SELECT login FROM accounts") // want "rows-not-closed|resource-not-released"
	if err != nil {
		log.Fatal(err)
	}
	_ = rs
}

// pgxPoolRowsNeverClosed queries on a *pgxpool.Pool.
func pgxPoolRowsNeverClosed() {
	rs, err := pgp.Query(bg, "SELECT login FROM accounts") // want "rows-not-closed|resource-not-released"
	if err != nil {
		log.Fatal(err)
	}
	_ = rs
}
