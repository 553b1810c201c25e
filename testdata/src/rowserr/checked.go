package rowserr

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// ifErr checks rows.Err() right after the loop.
func ifErr(db *sql.DB) ([]string, error) {
	rows, err := db.Query("SELECT name FROM users")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// returnErr returns rows.Err().
func returnErr(db *sql.DB, seen map[string]bool) error {
	rows, err := db.Query("SELECT name FROM users")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return err
		}
		seen[n] = true
	}
	return rows.Err()
}

// joined returns rows.Err() joined with the Close error.
func joined(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	for rows.Next() {
	}
	closeErr := rows.Close()
	return errors.Join(closeErr, rows.Err())
}

// wrapped passes rows.Err() to a function.
func wrapped(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return wrap("iterating", rows.Err())
}

func wrap(what string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%s: %w", what, err)
}

// deferredCheck checks rows.Err() in a deferred closure set up before the loop.
func deferredCheck(db *sql.DB) (n int, err error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	defer func() {
		if e := rows.Err(); e != nil && err == nil {
			err = e
		}
		_ = rows.Close()
	}()
	for rows.Next() {
		n++
	}
	return n, nil
}

// breakFormChecked: the `for { if !rows.Next() { break } }` form, checked.
func breakFormChecked(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for {
		if !rows.Next() {
			break
		}
		n++
	}
	return n, rows.Err()
}

// checkedInLoop asks rows.Err() inside the loop (after the loop started).
func checkedInLoop(db *sql.DB) (int, error) {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	n := 0
	for rows.Next() {
		n++
		if n == 10 && rows.Err() != nil {
			return 0, rows.Err()
		}
	}
	return n, nil
}

// literalChecked: the loop in a func literal, checked within the literal.
func literalChecked(ctx context.Context, db *sql.DB) error {
	run := func(q string) error {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
		}
		return rows.Err()
	}
	return run("SELECT 1")
}

// collected appends rows.Err() to a list of errors.
func collected(db *sql.DB) []error {
	var errs []error
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return append(errs, err)
	}
	defer rows.Close()
	for rows.Next() {
	}
	errs = append(errs, rows.Err())
	return errs
}

// methodValue hands rows.Err itself to a checker.
func methodValue(db *sql.DB) error {
	rows, err := db.Query("SELECT 1")
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
	}
	return check(rows.Err)
}

func check(f func() error) error { return f() }
