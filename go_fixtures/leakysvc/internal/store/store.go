// Package store opens the database and prepares its schema.
package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	_ "github.com/lib/pq" // registers the "postgres" driver
)

// MaxOpenConns is deliberately small so that leaked rows exhaust the pool
// after a handful of requests.
const MaxOpenConns = 3

// Open connects to dsn, sizes the pool, and waits until the server answers.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(MaxOpenConns)
	db.SetMaxIdleConns(MaxOpenConns)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("ping: %w", err)
	}
	return db, nil
}

var seedUsers = []string{"ada", "barbara", "grace", "ken", "rob"}

// Migrate creates the users table and seeds it. It is idempotent.
func Migrate(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS users (
		id   integer PRIMARY KEY,
		name text NOT NULL
	)`); err != nil {
		return fmt.Errorf("create table: %w", err)
	}
	for i, name := range seedUsers {
		if _, err := db.ExecContext(ctx,
			"INSERT INTO users (id, name) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
			i+1, name); err != nil {
			return fmt.Errorf("seed %s: %w", name, err)
		}
	}
	return nil
}
