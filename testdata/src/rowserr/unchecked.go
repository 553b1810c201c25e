package rowserr

import (
	"context"
	"database/sql"
)

// names never asks rows.Err(): a dropped connection returns a short list as success.
func names(ctx context.Context, db *sql.DB) ([]string, error) {
	rows, err := db.QueryContext(ctx, "SELECT name FROM users")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() { // want "rows.Err\\(\\) is not checked after the loop"
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// breakForm iterates with `for { if !rows.Next() { break } ... }`.
func breakForm(db *sql.DB) ([]int, error) {
	rows, err := db.Query("SELECT id FROM users")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int
	for { // want "rows-err-not-checked"
		if !rows.Next() {
			break
		}
		var id int
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, nil
}

// onlyError returns just an error: no zero values in the fix.
func onlyError(db *sql.DB, seen map[string]bool) error {
	rows, err := db.Query("SELECT name FROM users")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-not-checked"
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		seen[n] = true
	}
	return nil
}

// threeResults: a zero value for each result before the error.
func threeResults(db *sql.DB) (int, string, error) {
	rows, err := db.Query("SELECT name FROM users")
	if err != nil {
		return 0, "", err
	}
	defer rows.Close()
	n, last := 0, ""
	for rows.Next() { // want "rows-err-not-checked"
		if err := rows.Scan(&last); err != nil {
			return 0, "", err
		}
		n++
	}
	return n, last, nil
}

// namedResults: named results get the same explicit zero values.
func namedResults(db *sql.DB) (total, count int, err error) {
	rows, err := db.Query("SELECT amount FROM orders")
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-not-checked"
		var a int
		if err = rows.Scan(&a); err != nil {
			return
		}
		total += a
		count++
	}
	return
}

// inLiteral: the loop in a func literal is judged within the literal, even though the
// outer function checks rows.Err() afterwards.
func inLiteral(db *sql.DB) error {
	rows, err := db.Query("SELECT name FROM users")
	if err != nil {
		return err
	}
	defer rows.Close()
	drain := func() error {
		for rows.Next() { // want "rows-err-not-checked"
		}
		return nil
	}
	if err := drain(); err != nil {
		return err
	}
	return rows.Err()
}

// errBeforeLoop asks rows.Err() only before iterating: it says nothing about the loop.
func errBeforeLoop(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if err := rows.Err(); err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() { // want "rows-err-not-checked"
		n++
	}
	return n, nil
}

// scanAll gets its rows as a parameter and does not check them either.
func scanAll(rows *sql.Rows) ([]string, error) {
	var out []string
	for rows.Next() { // want "rows.Err\\(\\) is not checked"
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// assigned: rows declared with var and assigned from Tx.QueryContext.
func assigned(ctx context.Context, tx *sql.Tx) (n int, err error) {
	var rows *sql.Rows
	rows, err = tx.QueryContext(ctx, "SELECT 1")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	if rows == nil {
		return 0, nil
	}
	for rows.Next() { // want "rows-err-not-checked"
		n++
	}
	return n, nil
}

// prepared iterates a statement's rows.
func prepared(stmt *sql.Stmt, id int) (string, error) {
	rows, err := stmt.Query(id)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	name := ""
	for rows.Next() { // want "rows-err-not-checked"
		if err := rows.Scan(&name); err != nil {
			return "", err
		}
	}
	return name, nil
}

// shadowed: the inner rows.Err() checks another variable.
func shadowed(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() { // want "rows-err-not-checked"
	}
	{
		rows, err := db.Query("SELECT 2")
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		if err := rows.Err(); err != nil {
			return err
		}
	}
	return nil
}

// labelled: the fix goes after the labelled loop.
func labelled(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT n FROM t")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	sum := 0
outer:
	for rows.Next() { // want "rows-err-not-checked"
		var n int
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
		if n < 0 {
			continue outer
		}
		sum += n
	}
	return sum, nil
}
