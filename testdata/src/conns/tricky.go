package conns

import (
	"bufio"
	"errors"
	"io"
	"net"
	"time"
)

// framed embeds the connection: its Close is the connection's.
type framed struct {
	net.Conn
	rd *bufio.Reader
}

// wrappedLocalClosed: the connection is closed through the wrapper.
func wrappedLocalClosed(addr string) (string, error) {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return "", err
	}
	fc := &framed{Conn: c, rd: bufio.NewReader(c)}
	defer fc.Close() // want "unchecked-error"
	return fc.rd.ReadString('\n')
}

// closedThroughInterface: the connection is closed as an io.Closer.
func closedThroughInterface(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	var closer io.Closer = c
	defer closer.Close()
	_, err = c.Write([]byte("x"))
	return err
}

// forgottenCleanup: the cleanup func is not called on one path.
func forgottenCleanup(addr string, strict bool) error {
	c, err := net.Dial("tcp", addr) // want "resource-not-released"
	if err != nil {
		return err
	}
	cleanup := func() { _ = c.Close() }
	if strict {
		return errors.New("strict mode")
	}
	_, err = c.Write([]byte("y"))
	cleanup()
	return err
}

// closedOnSuccessOnly: the close is skipped when the write fails.
func closedOnSuccessOnly(addr string, p []byte) error {
	c, err := net.Dial("tcp", addr) // want "resource-not-released"
	if err != nil {
		return err
	}
	if _, err = c.Write(p); err == nil {
		err = c.Close()
	}
	return err
}

// shadowedConn: the deferred Close closes the inner connection only.
func shadowedConn(addr, backup string) error {
	c, err := net.Dial("tcp", addr) // want "resource-not-released"
	if err != nil {
		c, err := net.Dial("tcp", backup)
		if err != nil {
			return err
		}
		defer c.Close() // want "unchecked-error"
		_, err = c.Write([]byte("z"))
		return err
	}
	_, err = c.Write([]byte("z"))
	return err
}

// tickerStoppedInSelect: every exit stops the ticker.
func tickerStoppedInSelect(done <-chan struct{}, tick func() error) error {
	t := time.NewTicker(time.Second)
	for {
		select {
		case <-done:
			t.Stop()
			return nil
		case <-t.C:
			if err := tick(); err != nil {
				t.Stop()
				return err
			}
		}
	}
}

// tickerResetNotStopped: Reset does not release the ticker.
func tickerResetNotStopped(fast bool, tick func() bool) {
	t := time.NewTicker(time.Second) // want "resource-not-released"
	if fast {
		t.Reset(time.Millisecond)
	}
	for range t.C {
		if tick() {
			return
		}
	}
}
