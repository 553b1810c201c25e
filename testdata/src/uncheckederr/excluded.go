package uncheckederr

import (
	"bytes"
	"crypto/sha256"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"rehabtest/ext"
)

// printing: fmt.Print* and fmt.Fprint* are excluded.
func printing(w io.Writer, v int) {
	fmt.Println(v)
	fmt.Printf("%d\n", v)
	fmt.Print(v)
	fmt.Fprintf(os.Stderr, "%d\n", v)
	fmt.Fprintln(w, v)
	fmt.Fprint(w, v)
}

// buffers: bytes.Buffer and strings.Builder writes never fail.
func buffers(p []byte) string {
	var buf bytes.Buffer
	buf.Write(p)
	buf.WriteString("x")
	buf.WriteByte('y')
	buf.WriteRune('z')
	var sb strings.Builder
	sb.WriteString(buf.String())
	sb.WriteByte('!')
	sb.WriteRune('?')
	sb.Write(p)
	return sb.String()
}

// bufferPointer: the same through a pointer.
func bufferPointer(p []byte) []byte {
	buf := new(bytes.Buffer)
	buf.Write(p)
	return buf.Bytes()
}

// hashWrite: hash.Hash writes never fail.
func hashWrite(p []byte) []byte {
	h := sha256.New()
	h.Write(p)
	return h.Sum(nil)
}

// deferAndGo: defer and go statements are not expression statements.
func deferAndGo(p string, srv *http.Server) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer f.Close()         // want "unchecked-error"
	defer os.Remove(p)      // want "unchecked-error"
	go srv.ListenAndServe() // want "unchecked-error"
	_, err = f.WriteString("x")
	return err
}

// readOnlyFileClose: Close of a file from os.Open is excluded.
func readOnlyFileClose(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	b, err := io.ReadAll(f)
	f.Close()
	return b, err
}

// rowsAndStmtClose: Close of *sql.Rows and *sql.Stmt is excluded.
func rowsAndStmtClose(db *sql.DB) error {
	stmt, err := db.Prepare("SELECT 1")
	if err != nil {
		return err
	}
	rows, err := stmt.Query()
	if err != nil {
		stmt.Close()
		return err
	}
	for rows.Next() { // want "rows-err-not-checked"
	}
	rows.Close()
	stmt.Close()
	return nil
}

// bodyClose: Close of a response body is excluded.
func bodyClose(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// handled: every error is assigned, checked or returned.
func handled(p string) error {
	_ = os.Remove(p)
	if err := os.Setenv("K", "v"); err != nil {
		return err
	}
	err := os.MkdirAll(p, 0o755)
	if err != nil {
		return err
	}
	_, _ = fmt.Println("done")
	return os.Chmod(p, 0o600)
}

// noErrorResult: std calls that return no error.
func noErrorResult(ch chan int, m map[string]int) {
	close(ch)
	delete(m, "x")
	os.Exit(0)
}

// unknownCallee: functions of other (non-std) packages are not resolved.
func unknownCallee(r *sql.Rows) {
	ext.ConsumeRows(r)
}
