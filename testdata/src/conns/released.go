package conns

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"database/sql"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"
)

// sqlConnDeferred is the canonical pattern.
func sqlConnDeferred(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close() // want "unchecked-error"
	if _, err := conn.ExecContext(ctx, "SET search_path TO app"); err != nil {
		return err
	}
	return conn.PingContext(ctx)
}

// sqlConnClosedEveryPath closes explicitly before every return.
func sqlConnClosedEveryPath(ctx context.Context, db *sql.DB) (int, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return 0, err
	}
	var n int
	if err := conn.QueryRowContext(ctx, "SELECT 1").Scan(&n); err != nil {
		_ = conn.Close()
		return 0, err
	}
	return n, conn.Close()
}

// dialDeferred closes the connection when the function returns.
func dialDeferred(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	defer c.Close() // want "unchecked-error"
	return bufio.NewReader(c).ReadString('\n')
}

// dialReturned hands the connection to the caller.
func dialReturned(ctx context.Context, addr string) (net.Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if err := c.SetDeadline(time.Now().Add(time.Minute)); err != nil {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

type client struct {
	conn net.Conn
	rd   *bufio.Reader
}

// newClient keeps the connection in a struct it returns.
func newClient(addr string) (*client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &client{conn: c, rd: bufio.NewReader(c)}, nil
}

// reconnect stores the connection in a field.
func (cl *client) reconnect(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	if cl.conn != nil {
		_ = cl.conn.Close()
	}
	cl.conn = c
	cl.rd = bufio.NewReader(c)
	return nil
}

// handle serves one connection and closes it.
func handle(c net.Conn) {
	defer c.Close() // want "unchecked-error"
	_, _ = io.Copy(c, c)
}

// serve is a server loop: each connection is handed to a goroutine.
func serve(ln net.Listener) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		go handle(c)
	}
}

// serveClosure hands each connection to a goroutine literal that closes it.
func serveClosure(ln net.Listener, greet string) error {
	for {
		conn, err := ln.Accept()
		if err != nil {
			return err
		}
		go func() {
			defer conn.Close() // want "unchecked-error"
			_, _ = io.WriteString(conn, greet)
		}()
	}
}

// listenAndServe closes the listener when serve returns.
func listenAndServe(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	defer ln.Close() // want "unchecked-error"
	return serve(ln)
}

// listenReturned hands the listener to the caller.
func listenReturned(port string) (net.Listener, error) {
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return nil, err
	}
	log.Printf("listening on %s", ln.Addr())
	return ln, nil
}

// tickerDeferred stops the ticker on every path.
func tickerDeferred(ctx context.Context, tick func()) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			tick()
		}
	}
}

// tickerReturned hands the ticker to the caller.
func tickerReturned(d time.Duration) *time.Ticker {
	t := time.NewTicker(d)
	return t
}

type heartbeat struct {
	ticker *time.Ticker
	stop   chan struct{}
}

// start keeps the ticker in a struct field; stop ends it.
func (h *heartbeat) start(d time.Duration) {
	h.ticker = time.NewTicker(d)
	h.stop = make(chan struct{})
}

func (h *heartbeat) halt() {
	h.ticker.Stop()
	close(h.stop)
}

// newHeartbeat returns the ticker inside a struct.
func newHeartbeat(d time.Duration) *heartbeat {
	t := time.NewTicker(d)
	return &heartbeat{ticker: t, stop: make(chan struct{})}
}

// tickerInGoroutine: the goroutine that owns the ticker stops it.
func tickerInGoroutine(stop <-chan struct{}, tick func()) {
	go func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				tick()
			}
		}
	}()
}

// zipDeferred closes the archive.
func zipDeferred(p string) ([]string, error) {
	r, err := zip.OpenReader(p)
	if err != nil {
		return nil, err
	}
	defer r.Close() // want "unchecked-error"
	names := make([]string, 0, len(r.File))
	for _, f := range r.File {
		names = append(names, f.Name)
	}
	return names, nil
}

// zipReturned hands the archive to the caller.
func zipReturned(p string) (*zip.ReadCloser, error) {
	r, err := zip.OpenReader(p)
	if err != nil {
		return nil, err
	}
	if len(r.File) == 0 {
		_ = r.Close()
		return nil, os.ErrNotExist
	}
	return r, nil
}

// gzipBothClosed closes the gzip reader and its file.
func gzipBothClosed(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer gz.Close() // want "unchecked-error"
	return io.ReadAll(gz)
}

// gzipOverConn: the gzip reader is closed, and so is the connection it reads.
func gzipOverConn(addr string) (int64, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return 0, err
	}
	defer c.Close() // want "unchecked-error"
	zr, err := gzip.NewReader(c)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, zr)
	if cerr := zr.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// stopTicker stops the ticker it is given.
func stopTicker(t *time.Ticker) { t.Stop() }

// tickerHelperStops: the helper stops the ticker on the way out.
func tickerHelperStops(n int, tick func()) {
	t := time.NewTicker(time.Millisecond)
	defer stopTicker(t)
	for i := 0; i < n; i++ {
		<-t.C
		tick()
	}
}

// deferredClosureCloses releases inside a deferred func literal.
func deferredClosureCloses(ctx context.Context, db *sql.DB) (err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := conn.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	return conn.PingContext(ctx)
}

// serveHTTP: http.Serve closes the listener when it returns.
func serveHTTP(addr string, h http.Handler) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	return http.Serve(ln, h)
}

// tlsWrapped: closing the TLS connection closes the one under it.
func tlsWrapped(addr string, cfg *tls.Config) error {
	raw, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	tc := tls.Client(raw, cfg)
	defer tc.Close() // want "unchecked-error"
	return tc.Handshake()
}

// connsToChannel hands each accepted connection to workers.
func connsToChannel(ln net.Listener, work chan<- net.Conn) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			return err
		}
		work <- c
	}
}

// dialRetryReturned retries and hands the first good connection to the caller.
func dialRetryReturned(addr string) (net.Conn, error) {
	var lastErr error
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			lastErr = err
			continue
		}
		return c, nil
	}
	return nil, lastErr
}
