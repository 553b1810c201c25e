// Command depsvc runs the leaks of internal/store against a real PostgreSQL
// (DATABASE_URL) and prints one line per scenario:
//
//	<scenario> <result> | <leak figures>
//
// Everything left of " | " is the same whether or not the leaks are fixed; the
// figures right of it are the leak: connections still in use (database/sql
// InUse, pgxpool AcquiredConns) after the leaking function has returned, and
// whether the next query on the same one-connection pool succeeds or times out.
package main

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"

	"example.com/depsvc/internal/store"
)

// nextQueryTimeout bounds the query run after each leak: on a one-connection
// pool whose connection leaked it blocks until this expires.
const nextQueryTimeout = time.Second

func fail(scenario string, err error) {
	fmt.Printf("%s error: %v\n", scenario, err)
	os.Exit(1)
}

// next reports whether one more query gets a connection from db in time.
func next(ctx context.Context, query func(context.Context) error) string {
	ctx, cancel := context.WithTimeout(ctx, nextQueryTimeout)
	defer cancel()
	err := query(ctx)
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, context.DeadlineExceeded):
		return "timeout"
	default:
		return "error(" + err.Error() + ")"
	}
}

func sqlNext(db *sql.DB) func(context.Context) error {
	return func(ctx context.Context) error {
		var one int
		return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	}
}

func poolNext(pool *pgxpool.Pool) func(context.Context) error {
	return func(ctx context.Context) error {
		var one int
		return pool.QueryRow(ctx, "SELECT 1").Scan(&one)
	}
}

// openDB opens a database/sql pool of one connection.
func openDB(driver, url string) *sql.DB {
	db, err := sql.Open(driver, url)
	if err != nil {
		fail("open "+driver, err)
	}
	db.SetMaxOpenConns(1)
	return db
}

// openPool opens a pgxpool of one connection.
func openPool(ctx context.Context, url string) *pgxpool.Pool {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		fail("pgxpool config", err)
	}
	cfg.MaxConns = 1
	cfg.MinConns = 0
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		fail("pgxpool", err)
	}
	return pool
}

// closePool closes pool unless a connection is still acquired: pgxpool's
// Close waits for every acquired connection to come back, which a leaked one
// never does.
func closePool(pool *pgxpool.Pool) {
	if pool.Stat().AcquiredConns() == 0 {
		pool.Close()
	}
}

func txScenario(ctx context.Context, name, driver, url string) {
	db := openDB(driver, url)
	defer db.Close()
	n, err := store.TxAnswer(ctx, db)
	if err != nil {
		fail(name, err)
	}
	fmt.Printf("%s result=%d | inuse=%d next-query=%s\n", name, n, db.Stats().InUse, next(ctx, sqlNext(db)))
}

func pgxpoolConnScenario(ctx context.Context, url string) {
	const name = "pgxpool-conn-not-released"
	pool := openPool(ctx, url)
	defer closePool(pool)
	n, err := store.PoolAnswer(ctx, pool)
	if err != nil {
		fail(name, err)
	}
	fmt.Printf("%s result=%d | acquired=%d next-query=%s\n", name, n, pool.Stat().AcquiredConns(), next(ctx, poolNext(pool)))
}

func pgxRowsScenario(ctx context.Context, url string) {
	const name = "pgx-rows-early-return"
	pool := openPool(ctx, url)
	defer closePool(pool)
	g, err := store.PgxFirstOver(ctx, pool, 2)
	if err != nil {
		fail(name, err)
	}
	fmt.Printf("%s result=%d | acquired=%d next-query=%s\n", name, g, pool.Stat().AcquiredConns(), next(ctx, poolNext(pool)))
}

func sqlxRowsScenario(ctx context.Context, url string) {
	const name = "sqlx-rows-early-return"
	db := sqlx.NewDb(openDB("postgres", url), "postgres")
	defer db.Close()
	names, err := store.SqlxFirstNames(ctx, db, 2)
	if err != nil {
		fail(name, err)
	}
	fmt.Printf("%s result=%v | inuse=%d next-query=%s\n", name, names, db.Stats().InUse, next(ctx, sqlNext(db.DB)))
}

func main() {
	url := os.Getenv("DATABASE_URL")
	if url == "" {
		fmt.Println("DATABASE_URL is not set")
		os.Exit(2)
	}
	ctx := context.Background()
	txScenario(ctx, "tx-early-return-lib-pq", "postgres", url)
	txScenario(ctx, "tx-early-return-pgx-stdlib", "pgx", url)
	pgxpoolConnScenario(ctx, url)
	pgxRowsScenario(ctx, url)
	sqlxRowsScenario(ctx, url)
	fmt.Println("done")
}
