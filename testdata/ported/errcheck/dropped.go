package errcheck

import (
	"bufio"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
)

// statements drops errors from every kind of callee.
func statements(db *sql.DB, fw failerWrapper, h hooks) {
	mayFail()         // want "unchecked-error"
	countAndFail()    // want "unchecked-error"
	namedErr()        // want "unchecked-error"
	concreteErr()     // want "unchecked-error"
	concreteErrPair() // want "unchecked-error"
	ptrErr()          // want "unchecked-error"
	ptrErrPair()      // want "unchecked-error"

	var w worker
	w.run() // want "unchecked-error"

	ww := wrapsWorker{}
	ww.run() // want "unchecked-error"

	wp := &wrapsWorker{}
	wp.run() // want "unchecked-error"

	var pw ptrToWorker = &worker{}
	pw.run() // want "unchecked-error"

	o := outer{}
	o.w.run() // want "unchecked-error"

	table := map[string]func() error{"x": mayFail}
	table["x"]() // want "unchecked-error"

	fw.Fail()  // want "unchecked-error"
	h.onSave() // want "unchecked-error"

	os.ReadFile("dropped.go") // want "unchecked-error"
	os.Remove("/tmp/stale")   // want "unchecked-error"
	os.Setenv("MODE", "x")    // want "unchecked-error"
	db.Exec("VACUUM")         // want "unchecked-error"
}

// goAndDefer drops errors through go and defer statements.
func goAndDefer() {
	go mayFail()    // want "unchecked-error"
	defer mayFail() // want "unchecked-error"
}

// recovered drops recover's value, which errcheck treats like an error.
func recovered() {
	defer func() {
		recover() // want "unchecked-error"
	}()
	defer recover() // want "unchecked-error"
}

// rangeOverFallible ignores the error half of an iterator.
func rangeOverFallible() {
	for s := range pairs() { // want "unchecked-error"
		_ = s
	}
	for range pairs() { // want "unchecked-error"
	}
}

// writtenFileClose drops the Close error of a file that was written.
func writtenFileClose(name string, data []byte) {
	f, err := os.Create(name)
	if err != nil {
		return
	}
	f.Write(data) // want "unchecked-error"
	f.Close()     // want "unchecked-error"
}

// deferredWrittenFileClose defers the Close of a written file.
func deferredWrittenFileClose(name string) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	defer f.Close() // want "unchecked-error"
	_, err = f.WriteString("x")
	return err
}

// txEndings drops Commit and Rollback errors.
func txEndings(db *sql.DB, ok bool) {
	tx, err := db.Begin()
	if err != nil {
		return
	}
	if !ok {
		tx.Rollback() // want "unchecked-error"
		return
	}
	tx.Commit() // want "unchecked-error"
}

// closesDropped drops the errors of response and rows closes.
func closesDropped(db *sql.DB, addr string) {
	resp, err := http.Get(addr)
	if err != nil {
		return
	}
	resp.Body.Close() // want "unchecked-error"
	rs, err := db.Query("SELECT 1")
	if err != nil {
		return
	}
	rs.Close() // want "unchecked-error"
}

// handler writes to the client and drops every error.
func handler(w http.ResponseWriter, r *http.Request) {
	fmt.Fprintf(w, "hello %s\n", r.URL.Path)          // want "unchecked-error"
	w.Write([]byte("done"))                           // want "unchecked-error"
	json.NewEncoder(w).Encode(map[string]int{"n": 1}) // want "unchecked-error"
	io.Copy(w, r.Body)                                // want "unchecked-error"
}

// buffered drops Flush and WriteFile errors.
func buffered(dst io.Writer) {
	bw := bufio.NewWriter(dst)
	bw.WriteString("line\n")             // want "unchecked-error"
	bw.Flush()                           // want "unchecked-error"
	os.WriteFile("/tmp/out", nil, 0o600) // want "unchecked-error"
}

// deadline drops a connection deadline error.
func deadline(c net.Conn) {
	c.SetDeadline(nilTime) // want "unchecked-error"
}
