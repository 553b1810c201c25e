package conns

import (
	"archive/zip"
	"bufio"
	"compress/gzip"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

// sqlConnLeaks: a failed ping returns with the dedicated connection out of the pool.
func sqlConnLeaks(ctx context.Context, db *sql.DB) error {
	conn, err := db.Conn(ctx) // want "resource-not-released"
	if err != nil {
		return err
	}
	if err := conn.PingContext(ctx); err != nil {
		return err
	}
	return conn.Close()
}

// sqlConnNeverClosed: the connection is used for one query and kept out of the pool.
func sqlConnNeverClosed(ctx context.Context, db *sql.DB) (string, error) {
	c, err := db.Conn(ctx) // want "resource-not-released"
	if err != nil {
		return "", err
	}
	var v string
	err = c.QueryRowContext(ctx, "SELECT version()").Scan(&v)
	return v, err
}

// dialLeaks writes one line and forgets the connection.
func dialLeaks(addr, msg string) error {
	c, err := net.Dial("tcp", addr) // want "resource-not-released"
	if err != nil {
		return fmt.Errorf("dial %s: %w", addr, err)
	}
	_, err = fmt.Fprintln(c, msg)
	return err
}

// dialTimeoutEarlyReturn: closes on success only.
func dialTimeoutEarlyReturn(addr string) (string, error) {
	c, err := net.DialTimeout("tcp", addr, 2*time.Second) // want "resource-not-released"
	if err != nil {
		return "", err
	}
	if err := c.SetDeadline(time.Now().Add(time.Second)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return "", err
	}
	return line, c.Close()
}

// dialerContextLeaks dials through a configured Dialer.
func dialerContextLeaks(ctx context.Context, addr string) ([]byte, error) {
	d := net.Dialer{Timeout: 3 * time.Second, KeepAlive: 30 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", addr) // want "resource-not-released"
	if err != nil {
		return nil, err
	}
	if _, err := io.WriteString(conn, "PING\r\n"); err != nil {
		return nil, err
	}
	buf := make([]byte, 64)
	n, err := conn.Read(buf)
	return buf[:n], err
}

// dialerDialLeaks: Dialer.Dial on a pointer to a composite literal.
func dialerDialLeaks(addr string) bool {
	conn, err := (&net.Dialer{Timeout: time.Second}).Dial("udp", addr) // want "resource-not-released"
	if err != nil {
		return false
	}
	_, err = conn.Write([]byte{0})
	return err == nil
}

// dialTCPLeaks: *net.TCPConn from net.DialTCP.
func dialTCPLeaks(raddr *net.TCPAddr) error {
	tc, err := net.DialTCP("tcp", nil, raddr) // want "resource-not-released"
	if err != nil {
		return err
	}
	return tc.SetKeepAlive(true)
}

// listenLeaks: the listener is used only for its address.
func listenLeaks() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // want "resource-not-released"
	if err != nil {
		return "", err
	}
	return ln.Addr().String(), nil
}

// acceptOnceLeaks greets one client and never closes its connection.
func acceptOnceLeaks(ln net.Listener) error {
	c, err := ln.Accept() // want "resource-not-released"
	if err != nil {
		return err
	}
	_, err = io.WriteString(c, "hello\n")
	return err
}

// tickerNeverStopped polls until ready.
func tickerNeverStopped(ready func() bool) {
	t := time.NewTicker(100 * time.Millisecond) // want "resource-not-released"
	for range t.C {
		if ready() {
			return
		}
	}
}

// tickerEarlyReturn stops the ticker only when the context ends.
func tickerEarlyReturn(ctx context.Context, poll func() error) error {
	ticker := time.NewTicker(time.Second) // want "resource-not-released"
	for {
		select {
		case <-ctx.Done():
			ticker.Stop()
			return ctx.Err()
		case <-ticker.C:
			if err := poll(); err != nil {
				return err
			}
		}
	}
}

// zipOpenReaderLeaks counts the entries of an archive.
func zipOpenReaderLeaks(p string) (int, error) {
	r, err := zip.OpenReader(p) // want "resource-not-released"
	if err != nil {
		return 0, err
	}
	return len(r.File), nil
}

// zipEarlyReturn closes on the normal path only.
func zipEarlyReturn(p string) ([]string, error) {
	r, err := zip.OpenReader(p) // want "resource-not-released"
	if err != nil {
		return nil, err
	}
	var names []string
	for _, f := range r.File {
		if f.Name == "" {
			return nil, errors.New("unnamed entry")
		}
		names = append(names, f.Name)
	}
	return names, r.Close()
}

// gzipReaderNotClosed: the file is closed, the gzip reader is not.
func gzipReaderNotClosed(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	gz, err := gzip.NewReader(f) // want "resource-not-released"
	if err != nil {
		return nil, err
	}
	return io.ReadAll(gz)
}

// gzipClosedFileNot: gz.Close does not close the file under it.
func gzipClosedFileNot(p string) ([]byte, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return nil, err
	}
	gz, err := gzip.NewReader(f)
	if err != nil {
		return nil, err
	}
	defer gz.Close() // want "unchecked-error"
	return io.ReadAll(gz)
}

// gzipNeitherClosed: both the reader and its file leak.
func gzipNeitherClosed(p string) (string, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return "", err
	}
	zr, err := gzip.NewReader(f) // want "resource-not-released"
	if err != nil {
		return "", err
	}
	return zr.Header.Name, nil
}
