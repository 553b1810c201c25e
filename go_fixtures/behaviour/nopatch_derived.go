package main

// More no-patch shapes: values derived from the resource (a wrapper, a
// method value, a struct of the module's own, a derived context) outlive the
// function, or the release is registered with someone who runs it later.

import (
	"bufio"
	"bytes"
	"compress/gzip"
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

// shape: gzip-returned

func openCompressed(path string) (*gzip.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return zr, nil
}

func runGzipReturned(dir string) string {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	io.WriteString(zw, strings.Repeat("squeeze ", 600))
	zw.Close()
	// The file stays open (the reader carries it); the gzip reader itself is released.
	// patch: resource-not-released
	zr, err := openCompressed(writeFile(dir, "z.gz", buf.String()))
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(zr)
	return fmt.Sprintf("len=%d head=%q err=%v", len(b), b[:min(len(b), 16)], err)
}

// shape: tee-returned

func recording(path string, copyTo io.Writer) (io.Reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return io.TeeReader(f, copyTo), nil
}

func runTeeReturned(dir string) string {
	var seen bytes.Buffer
	r, err := recording(writeFile(dir, "tee.txt", "teed bytes"), &seen)
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(r)
	return fmt.Sprintf("read=%q seen=%q err=%v", b, seen.String(), err)
}

// shape: section-reader-returned

func middle(path string) (*io.SectionReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return io.NewSectionReader(f, 3, 4), nil
}

func runSectionReaderReturned(dir string) string {
	sr, err := middle(writeFile(dir, "sec.txt", "abcDEFGhij"))
	if err != nil {
		return "open: " + err.Error()
	}
	b, err := io.ReadAll(sr)
	return fmt.Sprintf("read=%q err=%v", b, err)
}

// shape: method-value-returned

func readFunc(path string) (func([]byte) (int, error), error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return f.Read, nil
}

func runMethodValueReturned(dir string) string {
	read, err := readFunc(writeFile(dir, "mv.txt", "method value"))
	if err != nil {
		return "open: " + err.Error()
	}
	buf := make([]byte, 32)
	n, err := read(buf)
	return fmt.Sprintf("read=%q err=%v", buf[:n], err)
}

// shape: own-constructor-returned

type recordReader struct {
	src io.Reader
	sep string
}

func newRecordReader(r io.Reader) *recordReader { return &recordReader{src: r, sep: ";"} }

func (r *recordReader) all() ([]string, error) {
	b, err := io.ReadAll(r.src)
	return strings.Split(strings.TrimSpace(string(b)), r.sep), err
}

func openRecords(path string) (*recordReader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	return newRecordReader(f), nil
}

func runOwnConstructorReturned(dir string) string {
	rr, err := openRecords(writeFile(dir, "rec.txt", "a;b;c\n"))
	if err != nil {
		return "open: " + err.Error()
	}
	recs, err := rr.all()
	return fmt.Sprintf("records=%q err=%v", recs, err)
}

// shape: cleanup-registered

// cleanups runs registered funcs later, as testing.T.Cleanup does.
type cleanups struct{ fns []func() error }

func (c *cleanups) add(fn func() error) { c.fns = append(c.fns, fn) }

func (c *cleanups) run() error {
	var errs []error
	for i := len(c.fns) - 1; i >= 0; i-- {
		errs = append(errs, c.fns[i]())
	}
	return errors.Join(errs...)
}

// holdLock creates a lock file and keeps it open until the cleanups run.
func holdLock(c *cleanups, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	c.add(func() error { return f.Close() })
	return nil
}

func runCleanupRegistered(dir string) string {
	var c cleanups
	if err := holdLock(&c, filepath.Join(dir, "lock")); err != nil {
		return "lock: " + err.Error()
	}
	held := probe.OpenFiles(dir)
	err := c.run()
	return fmt.Sprintf("held=%d cleanup=%v after=%d", held, err, probe.OpenFiles(dir))
}

// shape: deferred-flush-in-loop

// spoolAll writes one file per name through a buffered writer whose Flush is
// deferred: the data reaches the files when the function returns. A close at
// the end of each iteration would leave every file empty.
func spoolAll(dir string, names []string) error {
	for _, n := range names {
		f, err := os.Create(filepath.Join(dir, n))
		if err != nil {
			return err
		}
		bw := bufio.NewWriter(f)
		defer bw.Flush()
		bw.WriteString("spooled " + n)
	}
	return nil
}

func runDeferredFlushInLoop(dir string) string {
	err := spoolAll(dir, []string{"s1", "s2"})
	a, _ := os.ReadFile(filepath.Join(dir, "s1"))
	b, _ := os.ReadFile(filepath.Join(dir, "s2"))
	return fmt.Sprintf("err=%v s1=%q s2=%q", err, a, b)
}

// shape: deferred-before-acquisition

// headOf registers the deferred read before it opens the file: defers run
// last-in first-out, so a close deferred after the open would run first and
// the read would see a closed file.
func headOf(path string) (head string, err error) {
	var f *os.File
	defer func() {
		if f != nil {
			b := make([]byte, 4)
			n, rerr := f.Read(b)
			head = fmt.Sprintf("%q/%v", b[:n], rerr)
		}
	}()
	f, err = os.Open(path)
	if err != nil {
		return "", err
	}
	return "", nil
}

func runDeferredBeforeAcquisition(dir string) string {
	h, err := headOf(writeFile(dir, "head.txt", "HEADER and more"))
	return fmt.Sprintf("head=%s err=%v", h, err)
}

// shape: decoder-over-body-returned

func eventStream(c *http.Client, url string) (*json.Decoder, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	return json.NewDecoder(resp.Body), nil
}

func runDecoderOverBodyReturned(string) string {
	s := probe.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, `{"id":1} {"id":2} {"id":3}`)
	}))
	dec, err := eventStream(s.Client, s.URL)
	if err != nil {
		return "get: " + err.Error()
	}
	var ids []int
	for {
		var ev struct{ ID int }
		if err := dec.Decode(&ev); err != nil {
			return fmt.Sprintf("ids=%v end=%v", ids, err)
		}
		ids = append(ids, ev.ID)
	}
}

// shape: rows-in-struct-returned

type page struct {
	rows *sql.Rows
	want int
}

func openPage(db *sql.DB) (*page, error) {
	rows, err := db.Query("numbers 3")
	if err != nil {
		return nil, err
	}
	return &page{rows: rows, want: 3}, nil
}

func runRowsInStructReturned(dir string) string {
	db, counts := openDB(dir)
	p, err := openPage(db)
	if err != nil {
		return "query: " + err.Error()
	}
	var got []int
	for p.rows.Next() {
		var n int
		p.rows.Scan(&n)
		got = append(got, n)
	}
	err = errors.Join(p.rows.Err(), p.rows.Close())
	return fmt.Sprintf("rows=%v want=%d err=%v open=%d", got, p.want, err, counts.Rows.Load())
}

// shape: rows-over-channel

func queueRows(db *sql.DB, ch chan<- *sql.Rows) error {
	rows, err := db.Query("numbers 2")
	if err != nil {
		return err
	}
	ch <- rows
	return nil
}

func runRowsOverChannel(dir string) string {
	db, counts := openDB(dir)
	ch := make(chan *sql.Rows, 1)
	if err := queueRows(db, ch); err != nil {
		return "query: " + err.Error()
	}
	rows := <-ch
	var got []int
	for rows.Next() {
		var n int
		rows.Scan(&n)
		got = append(got, n)
	}
	err := errors.Join(rows.Err(), rows.Close())
	return fmt.Sprintf("rows=%v err=%v open=%d", got, err, counts.Rows.Load())
}

// shape: derived-ctx-returned

type ctxKey struct{}

// tagged derives a cancellable context, tags it, and returns the tagged
// child with the cancel func.
func tagged(parent context.Context, tag string) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(parent)
	return context.WithValue(ctx, ctxKey{}, tag), cancel
}

func runDerivedCtxReturned(string) string {
	ctx, cancel := tagged(context.Background(), "req-1")
	before := ctx.Err()
	cancel()
	return fmt.Sprintf("tag=%v before=%v after=%v", ctx.Value(ctxKey{}), before, ctx.Err())
}
