// Command leakysvc is a small HTTP service whose handlers leak resources.
//
// It prints "listening HOST:PORT" as its first line on stdout once it
// accepts connections, so it can be started on port 0.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	"example.com/leakysvc/internal/handlers"
	"example.com/leakysvc/internal/store"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (port 0 picks a free port)")
	dsn := flag.String("dsn", "", "PostgreSQL DSN, e.g. postgres://user@127.0.0.1:5432/db?sslmode=disable")
	backend := flag.String("backend", "http://127.0.0.1:8081", "base URL of the backend service")
	datafile := flag.String("datafile", "/etc/hostname", "file served by /file")
	flag.Parse()
	log.SetPrefix("leakysvc: ")

	if *dsn == "" {
		log.Fatal("-dsn is required")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, *dsn)
	if err != nil {
		log.Fatalf("open database: %v", err)
	}
	defer db.Close()
	if err := store.Migrate(ctx, db); err != nil {
		log.Fatalf("migrate: %v", err)
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatalf("listen: %v", err)
	}
	srv := &http.Server{
		Handler:           handlers.New(db, *backend, *datafile).Routes(),
		ReadHeaderTimeout: 5 * time.Second,
	}
	fmt.Fprintf(os.Stdout, "listening %s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil {
		log.Fatalf("serve: %v", err)
	}
}
