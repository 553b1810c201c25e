// Package fakedb is a tiny database/sql driver that counts what is open.
//
// Queries: "numbers N" (or "numbers ?" with one int argument) yields the rows
// 1..N in one column "n"; "noop" executes and affects nothing; anything else
// fails. Transactions begin, commit and roll back without doing anything but
// being counted. Counts are kept per data source name, so every shape opens its
// own.
package fakedb

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// DriverName is the name the driver is registered under.
const DriverName = "behaviourdb"

// Counts holds the driver objects of one data source that are open right now,
// and how many of its transactions the driver saw committed and rolled back.
type Counts struct {
	Conns, Stmts, Rows, Txs atomic.Int64
	Commits, Rollbacks      atomic.Int64
}

var (
	mu     sync.Mutex
	counts = map[string]*Counts{}
)

// For returns the counts of the data source dsn.
func For(dsn string) *Counts {
	mu.Lock()
	defer mu.Unlock()
	c := counts[dsn]
	if c == nil {
		c = &Counts{}
		counts[dsn] = c
	}
	return c
}

func init() {
	sql.Register(DriverName, drv{})
}

type drv struct{}

func (drv) Open(dsn string) (driver.Conn, error) {
	c := For(dsn)
	c.Conns.Add(1)
	return &conn{counts: c}, nil
}

type query struct {
	verb  string
	n     int64
	param bool
}

func parse(s string) (query, error) {
	f := strings.Fields(s)
	switch {
	case len(f) == 1 && f[0] == "noop":
		return query{verb: "noop"}, nil
	case len(f) == 2 && f[0] == "numbers" && f[1] == "?":
		return query{verb: "numbers", param: true}, nil
	case len(f) == 2 && f[0] == "numbers":
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err == nil {
			return query{verb: "numbers", n: n}, nil
		}
	}
	return query{}, fmt.Errorf("fakedb: cannot parse %q", s)
}

func (q query) count(args []driver.NamedValue) (int64, error) {
	if !q.param {
		return q.n, nil
	}
	if len(args) != 1 {
		return 0, fmt.Errorf("fakedb: want 1 argument, got %d", len(args))
	}
	n, ok := args[0].Value.(int64)
	if !ok {
		return 0, fmt.Errorf("fakedb: argument is %T, not int64", args[0].Value)
	}
	return n, nil
}

func (q query) query(c *Counts, args []driver.NamedValue) (driver.Rows, error) {
	if q.verb != "numbers" {
		return nil, fmt.Errorf("fakedb: %s returns no rows", q.verb)
	}
	n, err := q.count(args)
	if err != nil {
		return nil, err
	}
	c.Rows.Add(1)
	return &rows{counts: c, next: 1, last: n}, nil
}

func (q query) exec(args []driver.NamedValue) (driver.Result, error) {
	if q.verb == "noop" {
		return driver.RowsAffected(0), nil
	}
	n, err := q.count(args)
	if err != nil {
		return nil, err
	}
	return driver.RowsAffected(n), nil
}

func named(args []driver.Value) []driver.NamedValue {
	out := make([]driver.NamedValue, len(args))
	for i, v := range args {
		out[i] = driver.NamedValue{Ordinal: i + 1, Value: v}
	}
	return out
}

type conn struct {
	counts *Counts
	closed bool
}

func (c *conn) Prepare(s string) (driver.Stmt, error) {
	q, err := parse(s)
	if err != nil {
		return nil, err
	}
	c.counts.Stmts.Add(1)
	return &stmt{counts: c.counts, q: q}, nil
}

func (c *conn) Close() error {
	if !c.closed {
		c.closed = true
		c.counts.Conns.Add(-1)
	}
	return nil
}

func (c *conn) Begin() (driver.Tx, error) {
	c.counts.Txs.Add(1)
	return &tx{counts: c.counts}, nil
}

type tx struct {
	counts *Counts
	done   bool
}

func (t *tx) end(n *atomic.Int64) error {
	if t.done {
		return errors.New("fakedb: transaction already ended")
	}
	t.done = true
	t.counts.Txs.Add(-1)
	n.Add(1)
	return nil
}

func (t *tx) Commit() error   { return t.end(&t.counts.Commits) }
func (t *tx) Rollback() error { return t.end(&t.counts.Rollbacks) }

func (c *conn) QueryContext(_ context.Context, s string, args []driver.NamedValue) (driver.Rows, error) {
	q, err := parse(s)
	if err != nil {
		return nil, err
	}
	return q.query(c.counts, args)
}

func (c *conn) ExecContext(_ context.Context, s string, args []driver.NamedValue) (driver.Result, error) {
	q, err := parse(s)
	if err != nil {
		return nil, err
	}
	return q.exec(args)
}

type stmt struct {
	counts *Counts
	q      query
	closed bool
}

func (s *stmt) Close() error {
	if !s.closed {
		s.closed = true
		s.counts.Stmts.Add(-1)
	}
	return nil
}

func (s *stmt) NumInput() int {
	if s.q.param {
		return 1
	}
	return 0
}

func (s *stmt) Exec(args []driver.Value) (driver.Result, error) { return s.q.exec(named(args)) }

func (s *stmt) Query(args []driver.Value) (driver.Rows, error) {
	return s.q.query(s.counts, named(args))
}

type rows struct {
	counts     *Counts
	next, last int64
	closed     bool
}

func (r *rows) Columns() []string { return []string{"n"} }

func (r *rows) Close() error {
	if !r.closed {
		r.closed = true
		r.counts.Rows.Add(-1)
	}
	return nil
}

func (r *rows) Next(dest []driver.Value) error {
	if r.next > r.last {
		return io.EOF
	}
	dest[0] = r.next
	r.next++
	return nil
}
