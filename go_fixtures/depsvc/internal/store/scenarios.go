package store

// The leaks cmd/depsvc runs against a real PostgreSQL, one per function. Each
// acquisition is marked with a trailing LEAK(<rule>) comment; nothing here lets
// a resource escape its function (it is not returned, stored, or handed on), so
// toolexec-rehab can fix each one with a deferred release. The queries use
// generate_series only: no tables, nothing to migrate.

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
)

// TxAnswer reads a value inside a transaction and returns early once it has
// it: neither Commit nor Rollback runs on that path.
func TxAnswer(ctx context.Context, db *sql.DB) (int, error) {
	tx, err := db.BeginTx(ctx, nil) // LEAK(tx-not-finished)
	if err != nil {
		return 0, err
	}
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT 40 + 2").Scan(&n); err != nil {
		return 0, err
	}
	if n == 42 {
		return n, nil
	}
	return n, tx.Commit()
}

// PoolAnswer acquires a pool connection and never releases it.
func PoolAnswer(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	c, err := pool.Acquire(ctx) // LEAK(resource-not-released)
	if err != nil {
		return 0, err
	}
	var n int
	if err := c.QueryRow(ctx, "SELECT 7").Scan(&n); err != nil {
		return 0, err
	}
	return n, nil
}

// PgxFirstOver returns the first value greater than above from pgx rows, returning
// inside the loop with the rows still open.
func PgxFirstOver(ctx context.Context, pool *pgxpool.Pool, above int) (int, error) {
	rows, err := pool.Query(ctx, "SELECT g FROM generate_series(1, 5) AS g") // LEAK(rows-not-closed)
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var g int
		if err := rows.Scan(&g); err != nil {
			return 0, err
		}
		if g > above {
			return g, nil
		}
	}
	return 0, rows.Err()
}

// SqlxFirstNames returns the first limit names from sqlx rows, returning
// inside the loop with the rows still open.
func SqlxFirstNames(ctx context.Context, db *sqlx.DB, limit int) ([]string, error) {
	rows, err := db.QueryxContext(ctx, "SELECT 'user' || g FROM generate_series(1, 5) AS g") // LEAK(rows-not-closed)
	if err != nil {
		return nil, err
	}
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
		if len(out) == limit {
			return out, nil
		}
	}
	return out, rows.Err()
}
