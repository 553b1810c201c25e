// Package probe observes resources from outside the code that holds them:
// descriptors by directory, loopback HTTP connections by server, and the
// children registered with a parent context.
package probe

import (
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Settle polls n until it reports zero, for at most about one second, and
// returns the last value. Releases that happen on another goroutine (an HTTP
// client closing its connection) have had time to arrive by then.
func Settle(n func() int64) int64 {
	deadline := time.Now().Add(time.Second)
	for {
		v := n()
		if v == 0 || time.Now().After(deadline) {
			return v
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// OpenFiles counts this process's descriptors that name a file under dir
// (dir must be a resolved absolute path).
func OpenFiles(dir string) int64 {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	var n int64
	for _, e := range ents {
		target, err := os.Readlink("/proc/self/fd/" + e.Name())
		if err == nil && strings.HasPrefix(target, dir+"/") {
			n++
		}
	}
	return n
}

// Server is a loopback HTTP server that counts its open connections.
type Server struct {
	URL    string
	Client *http.Client
	open   atomic.Int64
}

// NewServer starts h on 127.0.0.1 with a client of its own (no proxy, its own
// connection pool).
func NewServer(h http.Handler) *Server {
	s := &Server{}
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		switch st {
		case http.StateNew:
			s.open.Add(1)
		case http.StateClosed, http.StateHijacked:
			s.open.Add(-1)
		}
	}
	ts.Start()
	s.URL = ts.URL
	s.Client = &http.Client{Transport: &http.Transport{}}
	return s
}

// OpenConns is the number of client connections the server has not seen closed.
func (s *Server) OpenConns() int64 { return s.open.Load() }

// RefusedURL is an http URL on a loopback port that nothing listens on.
func RefusedURL() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "http://127.0.0.1:1/"
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// Pinned reports 1 when db cannot run a statement within 250ms (its only
// connection is held by something), else 0.
func Pinned(db *sql.DB) int64 {
	ctx, cancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
	defer cancel()
	if _, err := db.ExecContext(ctx, "noop"); err != nil {
		return 1
	}
	return 0
}

// Parent is a context that is never cancelled and counts the children that
// are registered with it. context.WithCancel, WithTimeout and WithDeadline
// register a child through AfterFunc and stop the registration when the
// child's cancel func is called, so Live is the number of derived contexts
// whose cancel has not been called.
type Parent struct {
	done chan struct{}
	live atomic.Int64
}

// NewParent returns a Parent with no children.
func NewParent() *Parent { return &Parent{done: make(chan struct{})} }

func (p *Parent) Deadline() (time.Time, bool) { return time.Time{}, false }
func (p *Parent) Done() <-chan struct{}       { return p.done }
func (p *Parent) Err() error                  { return nil }
func (p *Parent) Value(any) any               { return nil }

// AfterFunc registers a child. f would run when p is done, which is never.
func (p *Parent) AfterFunc(f func()) (stop func() bool) {
	p.live.Add(1)
	var once sync.Once
	return func() bool {
		stopped := false
		once.Do(func() {
			p.live.Add(-1)
			stopped = true
		})
		return stopped
	}
}

// Live is the number of registered children not yet stopped.
func (p *Parent) Live() int64 { return p.live.Load() }

var _ context.Context = (*Parent)(nil)

// BareParent is a context that is never cancelled and has no AfterFunc: a
// context derived from it is watched by a goroutine of package context that
// ends only when the derived context's cancel func is called.
type BareParent struct{ done chan struct{} }

// NewBareParent returns a BareParent.
func NewBareParent() *BareParent { return &BareParent{done: make(chan struct{})} }

func (p *BareParent) Deadline() (time.Time, bool) { return time.Time{}, false }
func (p *BareParent) Done() <-chan struct{}       { return p.done }
func (p *BareParent) Err() error                  { return nil }
func (p *BareParent) Value(any) any               { return nil }

// Goroutines counts the live goroutines whose stack contains fn.
func Goroutines(fn string) int64 {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	var count int64
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, fn) {
			count++
		}
	}
	return count
}
