package main

// No-patch shapes around response bodies, *sql.Rows, *sql.Stmt and
// contexts.

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"example.com/behaviour/internal/fakedb"
	"example.com/behaviour/internal/probe"
)

func textServer() *probe.Server {
	return probe.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		io.WriteString(w, "line one\nline two\nline three\n")
	}))
}

func openDB(dir string) (*sql.DB, *fakedb.Counts) {
	db, err := sql.Open(fakedb.DriverName, dir)
	if err != nil {
		panic(err)
	}
	return db, fakedb.For(dir)
}

// shape: response-returned

func fetch(c *http.Client, url string) (*http.Response, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func runResponseReturned(string) string {
	s := textServer()
	resp, err := fetch(s.Client, s.URL)
	if err != nil {
		return "get: " + err.Error()
	}
	b, err := io.ReadAll(resp.Body)
	cerr := resp.Body.Close()
	return fmt.Sprintf("status=%d body=%q err=%v close=%v", resp.StatusCode, b, err, cerr)
}

// shape: body-bufio-returned

func streamLines(c *http.Client, url string) (*bufio.Reader, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	return bufio.NewReader(resp.Body), nil
}

func runBodyBufioReturned(string) string {
	s := textServer()
	br, err := streamLines(s.Client, s.URL)
	if err != nil {
		return "get: " + err.Error()
	}
	a, errA := br.ReadString('\n')
	b, errB := br.ReadString('\n')
	return fmt.Sprintf("a=%q/%v b=%q/%v", a, errA, b, errB)
}

// shape: body-closed-on-error-branches

func fetchText(c *http.Client, url string) (io.ReadCloser, error) {
	resp, err := c.Get(url)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		resp.Body.Close()
		return nil, fmt.Errorf("content type %q", ct)
	}
	return resp.Body, nil
}

func runBodyClosedOnErrorBranches(string) string {
	s := textServer()
	body, err := fetchText(s.Client, s.URL)
	if err != nil {
		return "fetch: " + err.Error()
	}
	b, err := io.ReadAll(body)
	cerr := body.Close()
	return fmt.Sprintf("body=%q err=%v close=%v", b, err, cerr)
}

// shape: body-closed-by-deferred-arg

func countLines(c *http.Client, url string) (int, error) {
	resp, err := c.Get(url)
	if err != nil {
		return 0, err
	}
	defer func(b io.ReadCloser) {
		_ = b.Close()
	}(resp.Body)
	n := 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

func runBodyClosedByDeferredArg(string) string {
	s := textServer()
	n, err := countLines(s.Client, s.URL)
	return fmt.Sprintf("lines=%d err=%v", n, err)
}

// shape: rows-closure-later

// numbersLater runs the query now and hands back a func that consumes the
// rows (and closes them) when it is called.
func numbersLater(db *sql.DB) (func() ([]int, error), error) {
	rows, err := db.Query("numbers 4")
	if err != nil {
		return nil, err
	}
	return func() ([]int, error) {
		defer rows.Close()
		var out []int
		for rows.Next() {
			var n int
			if err := rows.Scan(&n); err != nil {
				return out, err
			}
			out = append(out, n)
		}
		return out, rows.Err()
	}, nil
}

func runRowsClosureLater(dir string) string {
	db, counts := openDB(dir)
	consume, err := numbersLater(db)
	if err != nil {
		return "query: " + err.Error()
	}
	got, err := consume()
	return fmt.Sprintf("rows=%v err=%v open=%d", got, err, counts.Rows.Load())
}

// shape: rows-deferred-join

func sumNumbers(db *sql.DB) (total int, err error) {
	rows, err := db.Query("numbers 5")
	if err != nil {
		return 0, err
	}
	defer func() {
		err = errors.Join(err, rows.Close())
	}()
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			return 0, err
		}
		total += n
	}
	return total, rows.Err()
}

func runRowsDeferredJoin(dir string) string {
	db, counts := openDB(dir)
	total, err := sumNumbers(db)
	return fmt.Sprintf("total=%d err=%v open=%d", total, err, counts.Rows.Load())
}

// shape: stmt-in-field

type queries struct {
	upTo *sql.Stmt
}

func (q *queries) prepare(db *sql.DB) error {
	stmt, err := db.Prepare("numbers ?")
	if err != nil {
		return err
	}
	q.upTo = stmt
	return nil
}

func runStmtInField(dir string) string {
	db, counts := openDB(dir)
	var q queries
	if err := q.prepare(db); err != nil {
		return "prepare: " + err.Error()
	}
	var last int
	err := q.upTo.QueryRow(3).Scan(&last)
	cerr := q.upTo.Close()
	return fmt.Sprintf("first=%d err=%v close=%v stmts=%d", last, err, cerr, counts.Stmts.Load())
}

// shape: ctx-and-cancel-returned

func withBudget(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, time.Hour)
	return ctx, cancel
}

func runCtxAndCancelReturned(string) string {
	ctx, cancel := withBudget(context.Background())
	before := ctx.Err()
	cancel()
	return fmt.Sprintf("before=%v after=%v", before, ctx.Err())
}

// shape: cancel-in-field

type poller struct {
	ctx  context.Context
	stop context.CancelFunc
}

func (p *poller) start(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	p.ctx = ctx
	p.stop = cancel
}

func runCancelInField(string) string {
	var p poller
	p.start(context.Background())
	before := p.ctx.Err()
	p.stop()
	return fmt.Sprintf("before=%v after=%v", before, p.ctx.Err())
}

// shape: ctx-used-by-goroutine

// startEcho starts a worker that answers with its context's state; shutdown
// cancels the context and waits for the worker to see it.
func startEcho(parent context.Context) (ask func(int) string, shutdown func() string) {
	ctx, cancel := context.WithCancel(parent)
	in := make(chan int)
	out := make(chan string)
	go func() {
		for n := range in {
			out <- fmt.Sprintf("%d:%v", n, ctx.Err())
		}
		<-ctx.Done()
		out <- "stopped:" + ctx.Err().Error()
	}()
	ask = func(n int) string {
		in <- n
		return <-out
	}
	shutdown = func() string {
		close(in)
		cancel()
		return <-out
	}
	return ask, shutdown
}

func runCtxUsedByGoroutine(string) string {
	ask, shutdown := startEcho(context.Background())
	a, b := ask(1), ask(2)
	return fmt.Sprintf("%s %s %s", a, b, shutdown())
}
