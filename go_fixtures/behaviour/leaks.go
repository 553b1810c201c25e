package main

// Leak shapes. Each run function calls the leaking function, then measures
// what is still open after it returned; the line ends with that counter.

import (
	"bufio"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"example.com/behaviour/internal/probe"
)

// bigServer answers every request with a first line and then enough more
// that a client reading only the start has not reached the end of the body:
// its connection is released only when the body is closed.
func bigServer(status int) *probe.Server {
	return probe.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-ndjson")
		w.Header().Set("X-Echo", r.Method)
		w.WriteHeader(status)
		io.WriteString(w, `{"id":7,"name":"first"}`+"\n")
		for i := 0; i < 200; i++ {
			fmt.Fprintf(w, `{"id":%d,"name":"more"}`+"\n", 100+i)
		}
	}))
}

// shape: rows-first-value

func firstNumber(db *sql.DB) (int, error) {
	// patch: rows-not-closed
	rows, err := db.Query("numbers 5")
	if err != nil {
		return 0, err
	}
	if !rows.Next() {
		return 0, rows.Err()
	}
	var n int
	err = rows.Scan(&n)
	return n, err
}

func runRowsFirstValue(dir string) string {
	db, counts := openDB(dir)
	n, err := firstNumber(db)
	return fmt.Sprintf("n=%d err=%v open=%d", n, err, counts.Rows.Load())
}

// shape: rows-early-return

func firstAbove(ctx context.Context, db *sql.DB, limit int) (int, error) {
	// patch: rows-not-closed
	rows, err := db.QueryContext(ctx, "numbers 9")
	if err != nil {
		return 0, err
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
		if n > limit {
			return n, nil
		}
	}
	return -1, rows.Err()
}

func runRowsEarlyReturn(dir string) string {
	db, counts := openDB(dir)
	n, err := firstAbove(context.Background(), db, 3)
	return fmt.Sprintf("n=%d err=%v open=%d", n, err, counts.Rows.Load())
}

// shape: rows-pin-single-conn

func peekNumber(db *sql.DB) (int, error) {
	// patch: rows-not-closed
	rows, err := db.Query("numbers 3")
	if err != nil {
		return 0, err
	}
	var n int
	if rows.Next() {
		err = rows.Scan(&n)
	}
	return n, err
}

func runRowsPinSingleConn(dir string) string {
	db, _ := openDB(dir)
	db.SetMaxOpenConns(1)
	n, err := peekNumber(db)
	return fmt.Sprintf("n=%d err=%v pinned=%d", n, err, probe.Pinned(db))
}

// shape: rows-from-stmt

func firstFromStmt(stmt *sql.Stmt) (int, error) {
	// patch: rows-not-closed
	rows, err := stmt.Query(6)
	if err != nil {
		return 0, err
	}
	var n int
	if rows.Next() {
		err = rows.Scan(&n)
	}
	return n, err
}

func runRowsFromStmt(dir string) string {
	db, counts := openDB(dir)
	stmt, err := db.Prepare("numbers ?")
	if err != nil {
		return "prepare: " + err.Error()
	}
	n, err := firstFromStmt(stmt)
	open := counts.Rows.Load()
	stmt.Close()
	return fmt.Sprintf("n=%d err=%v open=%d", n, err, open)
}

// shape: stmt-not-closed

func lastUpTo(db *sql.DB, k int) (int, error) {
	// patch: stmt-not-closed
	stmt, err := db.Prepare("numbers ?")
	if err != nil {
		return 0, err
	}
	var first int
	err = stmt.QueryRow(k).Scan(&first)
	return first, err
}

func runStmtNotClosed(dir string) string {
	db, counts := openDB(dir)
	n, err := lastUpTo(db, 4)
	return fmt.Sprintf("n=%d err=%v open=%d", n, err, counts.Stmts.Load())
}

// shape: stmt-preparecontext-not-closed

func affected(ctx context.Context, db *sql.DB, k int) (int64, error) {
	// patch: stmt-not-closed
	stmt, err := db.PrepareContext(ctx, "numbers ?")
	if err != nil {
		return 0, err
	}
	res, err := stmt.ExecContext(ctx, k)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func runStmtPrepareContextNotClosed(dir string) string {
	db, counts := openDB(dir)
	n, err := affected(context.Background(), db, 8)
	return fmt.Sprintf("n=%d err=%v open=%d", n, err, counts.Stmts.Load())
}

// shape: rows-defer-before-check

// countBroken defers rows.Close() before checking the query's error: the
// query fails, rows is nil, and the deferred Close panics on the way out.
func countBroken(db *sql.DB) (int, error) {
	rows, err := db.Query("no such query")
	// patch: defer-before-err-check
	defer rows.Close()
	if err != nil {
		return 0, err
	}
	n := 0
	for rows.Next() {
		n++
	}
	return n, rows.Err()
}

func runRowsDeferBeforeCheck(dir string) string {
	db, _ := openDB(dir)
	panics := 0
	func() {
		defer func() {
			if recover() != nil {
				panics++
			}
		}()
		countBroken(db)
	}()
	return fmt.Sprintf("panics=%d", panics)
}

// shape: file-read-header

func readMagic(path string) (string, error) {
	// patch: file-not-closed
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(f, buf); err != nil {
		return "", err
	}
	return string(buf), nil
}

func runFileReadHeader(dir string) string {
	m, err := readMagic(writeFile(dir, "h.bin", "BHV1 and the rest"))
	return fmt.Sprintf("magic=%q err=%v open=%d", m, err, probe.OpenFiles(dir))
}

// shape: file-create-write

func writeStamp(path, text string) error {
	// patch: file-not-closed
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	_, err = f.WriteString(text)
	return err
}

func runFileCreateWrite(dir string) string {
	path := filepath.Join(dir, "stamp.txt")
	err := writeStamp(path, "stamped")
	b, rerr := os.ReadFile(path)
	return fmt.Sprintf("err=%v content=%q/%v open=%d", err, b, rerr, probe.OpenFiles(dir))
}

// shape: file-openfile-append

func appendLine(path, line string) error {
	// patch: file-not-closed
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	return err
}

func runFileOpenFileAppend(dir string) string {
	path := filepath.Join(dir, "app.log")
	e1 := appendLine(path, "one")
	e2 := appendLine(path, "two")
	b, rerr := os.ReadFile(path)
	return fmt.Sprintf("err=%v,%v content=%q/%v open=%d", e1, e2, b, rerr, probe.OpenFiles(dir))
}

// shape: file-branch-leak

func sizeIfSmall(path string, limit int64) (int64, error) {
	// patch: file-not-closed
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return 0, err
	}
	if st.Size() > limit {
		return st.Size(), errors.New("too large")
	}
	f.Close()
	return st.Size(), nil
}

func runFileBranchLeak(dir string) string {
	n, err := sizeIfSmall(writeFile(dir, "big.txt", strings.Repeat("z", 64)), 10)
	return fmt.Sprintf("size=%d err=%v open=%d", n, err, probe.OpenFiles(dir))
}

// shape: file-loop-leak

// totalBytes reaches the end of every iteration once the file is open: a
// close at the end of the loop body releases each file.
func totalBytes(paths []string) (int64, error) {
	var total int64
	var errs []error
	for _, p := range paths {
		// patch: file-not-closed
		f, err := os.Open(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		n, err := io.Copy(io.Discard, f)
		total += n
		errs = append(errs, err)
	}
	return total, errors.Join(errs...)
}

func runFileLoopLeak(dir string) string {
	n, err := totalBytes([]string{writeFile(dir, "1", "ab"), writeFile(dir, "2", "cde"), writeFile(dir, "3", "f")})
	return fmt.Sprintf("total=%d err=%v open=%d", n, err, probe.OpenFiles(dir))
}

// shape: file-loop-early-return

// firstLines returns from inside the loop on a read error, so not every path
// reaches the end of the iteration. The files leak, but no build patch is
// safe: a close at the end of the iteration misses the returns, and a defer in
// the loop would hold every file until the function returns (a loop that never
// returns would then run out of descriptors that the GC's finalizers would
// otherwise have closed). Reported, not patched: the line is the same in both
// builds.
func firstLines(paths []string) ([]string, error) {
	var out []string
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			return nil, err
		}
		out = append(out, strings.TrimSpace(line))
	}
	return out, nil
}

func runFileLoopEarlyReturn(dir string) string {
	lines, err := firstLines([]string{writeFile(dir, "a", "x1\nx2\n"), writeFile(dir, "b", "y1\n")})
	return fmt.Sprintf("lines=%q err=%v open=%d", lines, err, probe.OpenFiles(dir))
}

// shape: file-createtemp

func spool(dir string, data []byte) (int, error) {
	// patch: file-not-closed
	f, err := os.CreateTemp(dir, "spool-*.tmp")
	if err != nil {
		return 0, err
	}
	return f.Write(data)
}

func runFileCreateTemp(dir string) string {
	n, err := spool(dir, []byte("spooled bytes"))
	return fmt.Sprintf("wrote=%d err=%v open=%d", n, err, probe.OpenFiles(dir))
}

// shape: body-first-line

func firstLine(c *http.Client, url string) (string, error) {
	// patch: body-not-closed
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	return strings.TrimSpace(line), err
}

func runBodyFirstLine(string) string {
	s := bigServer(http.StatusOK)
	line, err := firstLine(s.Client, s.URL)
	return fmt.Sprintf("line=%q err=%v open=%d", line, err, probe.Settle(s.OpenConns))
}

// shape: body-status-only

func statusOf(c *http.Client, url string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	// patch: body-not-closed
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func runBodyStatusOnly(string) string {
	s := bigServer(http.StatusAccepted)
	code, err := statusOf(s.Client, s.URL)
	return fmt.Sprintf("status=%d err=%v open=%d", code, err, probe.Settle(s.OpenConns))
}

// shape: body-json-first-value

type event struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

func firstEvent(url string) (event, error) {
	// patch: body-not-closed
	resp, err := http.Get(url)
	if err != nil {
		return event{}, err
	}
	var ev event
	err = json.NewDecoder(resp.Body).Decode(&ev)
	return ev, err
}

func runBodyJSONFirstValue(string) string {
	s := bigServer(http.StatusOK)
	ev, err := firstEvent(s.URL)
	return fmt.Sprintf("event=%+v err=%v open=%d", ev, err, probe.Settle(s.OpenConns))
}

// shape: body-branch-leak

func fetchIfOK(c *http.Client, url string) (string, error) {
	// patch: body-not-closed
	resp, err := c.Get(url)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func runBodyBranchLeak(string) string {
	s := bigServer(http.StatusServiceUnavailable)
	body, err := fetchIfOK(s.Client, s.URL)
	return fmt.Sprintf("body=%q err=%v open=%d", body, err, probe.Settle(s.OpenConns))
}

// shape: body-post-header

func postEcho(c *http.Client, url string) (string, error) {
	// patch: body-not-closed
	resp, err := c.Post(url, "text/plain", strings.NewReader("ping"))
	if err != nil {
		return "", err
	}
	return resp.Header.Get("X-Echo"), nil
}

func runBodyPostHeader(string) string {
	s := bigServer(http.StatusOK)
	echo, err := postEcho(s.Client, s.URL)
	return fmt.Sprintf("echo=%q err=%v open=%d", echo, err, probe.Settle(s.OpenConns))
}

// shape: rows-discarded

// A query whose rows are thrown away in each of its three forms (issue 16, item 12):
// sql.Rows has no finalizer, so each holds its connection for good. Nothing else can
// reach a discarded value: the fix closes it right after the call.
func vacuumAll(db *sql.DB) error {
	// patch: rows-not-closed
	_, err := db.Query("numbers 1")
	if err != nil {
		return err
	}
	// patch: rows-not-closed
	_, err = db.Query("numbers 2")
	if err != nil {
		return err
	}
	// patch: rows-not-closed
	db.Query("numbers 3")
	return nil
}

func runRowsDiscarded(dir string) string {
	db, counts := openDB(dir)
	err := vacuumAll(db)
	return fmt.Sprintf("err=%v open=%d", err, counts.Rows.Load())
}

// shape: body-discarded

func ping(c *http.Client, url string) error {
	// patch: body-not-closed
	_, err := c.Get(url)
	return err
}

func runBodyDiscarded(string) string {
	s := bigServer(http.StatusOK)
	err := ping(s.Client, s.URL)
	return fmt.Sprintf("err=%v open=%d", err, probe.Settle(s.OpenConns))
}
