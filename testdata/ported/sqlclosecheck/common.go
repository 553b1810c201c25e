// Package sqlclosecheck ports the shapes of ryanrolds/sqlclosecheck's testdata:
// rows and statements (database/sql, sqlx, pgx) that are never closed, or are
// closed without defer (its default defer-only mode), are reported at the call.
package sqlclosecheck

import (
	"context"
	"database/sql"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jmoiron/sqlx"
)

var (
	bg     context.Context
	store  *sql.DB
	xstore *sqlx.DB
	pgc    *pgx.Conn
	pgp    *pgxpool.Pool
	pgt    pgx.Tx
)
