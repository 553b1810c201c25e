// Package store leaks and does not leak resources whose types come from sqlx and pgx.
package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
)

// Rows is the module's own wrapper around *sql.Rows.
type Rows struct {
	*sql.Rows
	n int
}

// Store runs queries.
type Store struct {
	db   *sqlx.DB
	pool *pgxpool.Pool
	raw  *sql.DB
	keep *sql.Rows
}

func (s *Store) query(q string) (*Rows, error) {
	r, err := s.raw.Query(q)
	if err != nil {
		return nil, err
	}
	return &Rows{Rows: r}, nil
}

func (s *Store) kept() *sql.Rows { return s.keep }

// Names leaks sqlx rows on the early return.
func (s *Store) Names(limit int) ([]string, error) {
	rows, err := s.db.Queryx("SELECT name FROM users")
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, err
		}
		out = append(out, n)
		if len(out) == limit {
			return out, nil
		}
	}
	rows.Close()
	return out, rows.Err()
}

// Count leaks pgx rows.
func (s *Store) Count(ctx context.Context) (int, error) {
	rows, err := s.pool.Query(ctx, "SELECT 1")
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

// Acquire leaks a pool connection.
func (s *Store) Acquire(ctx context.Context) error {
	c, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	_, err = c.Exec(ctx, "SELECT 1")
	return err
}

// Wrapped leaks the module's own rows wrapper.
func (s *Store) Wrapped() (int, error) {
	r, err := s.query("SELECT 1")
	if err != nil {
		return 0, err
	}
	n := 0
	for r.Next() {
		n++
	}
	return n, r.Err()
}

// Kept uses rows the store keeps: not ours to close.
func (s *Store) Kept() bool {
	r := s.kept()
	return r.Next()
}

// Tx commits on one path only.
func (s *Store) Tx(ctx context.Context, fail bool) error {
	tx, err := s.raw.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if fail {
		return context.Canceled
	}
	return tx.Commit()
}

// Conn leaks a dedicated connection.
func (s *Store) Conn(ctx context.Context) error {
	c, err := s.raw.Conn(ctx)
	if err != nil {
		return err
	}
	return c.PingContext(ctx)
}

// Tick never stops its ticker.
func Tick(n int) int {
	t := time.NewTicker(time.Millisecond)
	for range t.C {
		n--
		if n == 0 {
			return n
		}
	}
	return n
}
