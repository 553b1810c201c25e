// Command depsvc exercises resources whose types come from dependencies (sqlx, pgx,
// pgxpool) against a real PostgreSQL (DATABASE_URL).
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

func main() {
	ctx := context.Background()
	url := os.Getenv("DATABASE_URL")
	db, err := sqlx.Open("postgres", url)
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(1)
	}
	defer db.Close()
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		fmt.Println("pool:", err)
		os.Exit(1)
	}
	defer pool.Close()
	fmt.Println("ok")
}
