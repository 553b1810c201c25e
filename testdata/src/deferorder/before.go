package deferorder

import (
	"compress/gzip"
	"context"
	"database/sql"
	"fmt"
	"io"
	"log"
	"net"
	"os"
)

// openFile defers Close before checking the Open error.
func openFile(p string) ([]byte, error) {
	f, err := os.Open(p)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// createFile defers Close before checking the Create error; the error
// branch exits the process.
func createFile(p string, data []byte) {
	out, err := os.Create(p)
	defer out.Close() // want "defer-before-err-check" "unchecked-error"
	if err != nil {
		log.Println(err)
		os.Exit(1)
	}
	if _, err := out.Write(data); err != nil {
		log.Println(err)
	}
}

// queryRows defers Close before checking the Query error; the error
// branch is log.Fatal.
func queryRows(db *sql.DB) int {
	rows, err := db.Query("SELECT 1")
	defer rows.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
	n := 0
	for rows.Next() { // want "rows-err-not-checked"
		n++
	}
	return n
}

// prepareStmt defers Close before checking the Prepare error; the error
// branch panics.
func prepareStmt(ctx context.Context, db *sql.DB) error {
	stmt, err := db.PrepareContext(ctx, "DELETE FROM t")
	defer stmt.Close() // want "defer-before-err-check"
	if err != nil {
		panic(err)
	}
	_, err = stmt.ExecContext(ctx)
	return err
}

// beginTx defers Rollback, a method with a different name, before the check.
func beginTx(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	defer tx.Rollback() // want "defer-before-err-check" "unchecked-error"
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if _, err := tx.ExecContext(ctx, "DELETE FROM t"); err != nil {
		return err
	}
	return tx.Commit()
}

// dialConn defers Close on a network connection before the check.
func dialConn(addr string) (string, error) {
	conn, err := net.Dial("tcp", addr)
	defer conn.Close() // want "defer-before-err-check" "unchecked-error"
	if err != nil {
		return "", err
	}
	return conn.RemoteAddr().String(), nil
}

// gzipWriter defers Close on a writer built from another value.
func gzipWriter(w io.Writer, data []byte) error {
	zw, err := gzip.NewWriterLevel(w, gzip.BestSpeed)
	defer zw.Close() // want "defer-before-err-check" "unchecked-error"
	if err != nil {
		return err
	}
	_, err = zw.Write(data)
	return err
}

// fatalfBranch uses log.Fatalf and a multi-line error block.
func fatalfBranch(p string) int64 {
	f, err := os.Open(p)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		log.Printf("open %s", p)
		log.Fatalf("open: %v", err)
	}
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	return st.Size()
}

// nestedBlock acquires inside an if block.
func nestedBlock(p string, enabled bool) error {
	if enabled {
		f, err := os.OpenFile(p, os.O_RDONLY, 0)
		defer f.Close() // want "defer-before-err-check" "unchecked-error"
		if err != nil {
			return err
		}
		_, err = f.Stat()
		return err
	}
	return nil
}

// customNames uses non-conventional variable names.
func customNames(p string) error {
	in, oerr := os.Open(p)
	defer in.Close() // want "defer-before-err-check"
	if oerr != nil {
		return oerr
	}
	_, serr := in.Stat()
	return serr
}
