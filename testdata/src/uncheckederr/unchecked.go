package uncheckederr

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"
)

// removeIgnored drops the error of a std function.
func removeIgnored(p string) {
	os.Remove(p) // want "unchecked-error"
}

// setenvAndMkdir drops two std errors.
func setenvAndMkdir(dir string) {
	os.Setenv("APP_DIR", dir) // want "unchecked-error"
	os.MkdirAll(dir, 0o755)   // want "unchecked-error"
}

// createdFileClose: Close of a file from os.Create can lose written data.
func createdFileClose(p string, data []byte) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	f.Write(data) // want "unchecked-error"
	f.Sync()      // want "unchecked-error"
	f.Close()     // want "unchecked-error"
	return nil
}

// openFileClose: Close of a file from os.OpenFile is reported as well.
func openFileClose(p string, line string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close() // want "unchecked-error"
		return err
	}
	return f.Close()
}

// bufferedFlush drops the Flush error of a bufio.Writer.
func bufferedFlush(w io.Writer, s string) {
	bw := bufio.NewWriter(w)
	if _, err := bw.WriteString(s); err != nil {
		return
	}
	bw.Flush() // want "unchecked-error"
}

// encoderFromVariable drops the Encode error.
func encoderFromVariable(w io.Writer, v any) {
	enc := json.NewEncoder(w)
	enc.Encode(v) // want "unchecked-error"
}

// encoderChained drops the Encode error of a chained call.
func encoderChained(w http.ResponseWriter, v any) {
	json.NewEncoder(w).Encode(v) // want "unchecked-error"
}

// interfaceWrite drops the error of io.Writer.Write.
func interfaceWrite(w io.Writer, p []byte) {
	w.Write(p) // want "unchecked-error"
}

// copyIgnored: io.Copy returns (int64, error).
func copyIgnored(dst io.Writer, src io.Reader) {
	io.Copy(dst, src) // want "unchecked-error"
}

// atoiIgnored: the last result is an error.
func atoiIgnored(s string) {
	strconv.Atoi(s) // want "unchecked-error"
}

// txIgnored drops the Rollback and Commit errors.
func txIgnored(db *sql.DB, fail bool) {
	tx, err := db.Begin()
	if err != nil {
		return
	}
	if fail {
		tx.Rollback() // want "unchecked-error"
		return
	}
	tx.Commit() // want "unchecked-error"
}

// pingIgnored drops the error of a method on a struct field.
func (s *store) pingIgnored() {
	s.db.Ping() // want "unchecked-error"
}

// deadlineIgnored drops the error of a net.Conn method.
func deadlineIgnored(c net.Conn) {
	c.SetDeadline(time.Now().Add(time.Second)) // want "unchecked-error"
}

// listenIgnored drops the error of http.ListenAndServe.
func listenIgnored(addr string) {
	http.ListenAndServe(addr, nil) // want "unchecked-error"
}

// multiLineCall reports on the line where the call starts.
func multiLineCall(p string) {
	os.WriteFile( // want "unchecked-error"
		p,
		[]byte("x"),
		0o644,
	)
}

// insideBlocks: bare calls nested in if, for and switch blocks.
func insideBlocks(paths []string, mode int) {
	for _, p := range paths {
		if mode > 0 {
			os.Chmod(p, 0o600) // want "unchecked-error"
		}
		switch mode {
		case 2:
			os.Truncate(p, 0) // want "unchecked-error"
		}
	}
}

// insideFuncLit: a bare call inside a func literal is reported.
func insideFuncLit(p string) func() {
	return func() {
		os.RemoveAll(p) // want "unchecked-error"
	}
}
