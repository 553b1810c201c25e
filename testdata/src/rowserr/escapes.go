package rowserr

import (
	"container/list"
	"database/sql"
)

// passed hands the rows to a function, which may check them.
func passed(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		break
	}
	return finish(rows)
}

func finish(rows *sql.Rows) error { return rows.Err() }

// returned hands the rows to the caller after reading the first row.
func returned(db *sql.DB) (*sql.Rows, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		break
	}
	return rows, nil
}

type cursor struct{ rows *sql.Rows }

// stored keeps the rows in a struct.
func stored(db *sql.DB, c *cursor) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	for rows.Next() {
		break
	}
	c.rows = rows
	return nil
}

// sent passes the rows on a channel.
func sent(db *sql.DB, ch chan<- *sql.Rows) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	for rows.Next() {
		break
	}
	ch <- rows
	return nil
}

var pkgRows *sql.Rows

// packageLevel iterates rows held in a package variable: checked wherever they are kept.
func packageLevel() int {
	n := 0
	for pkgRows.Next() {
		n++
	}
	return n
}

type iter struct{ n int }

func (it *iter) Next() bool { it.n--; return it.n > 0 }

// notRows: Next of some other type.
func notRows(it *iter) int {
	n := 0
	for it.Next() {
		n++
	}
	return n
}

// listElement: e.Next() returns an element, not a bool: not a rows loop.
func listElement(l *list.List) int {
	n := 0
	for e := l.Front(); e != nil; e = e.Next() {
		n++
	}
	return n
}

// unknownType: an interface whose type the resolver does not name: no finding.
func unknownType(src interface{ Next() bool }) int {
	n := 0
	for src.Next() {
		n++
	}
	return n
}

// rowScanner: *sql.Row has no Next; a helper that gets the rows and closes them.
func rowScanner(db *sql.DB) (string, error) {
	var s string
	err := db.QueryRow("SELECT 1").Scan(&s)
	return s, err
}

// twoClause loops are not this shape (`for ok := rows.Next(); ok; ok = rows.Next()`).
func twoClause(db *sql.DB) int {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0
	}
	defer rows.Close()
	n := 0
	for ok := rows.Next(); ok; ok = rows.Next() {
		n++
	}
	return n
}
