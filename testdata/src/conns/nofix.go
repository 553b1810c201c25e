package conns

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"time"
)

// greetAll answers each client inline and never closes the connection.
func greetAll(ln net.Listener) error {
	for {
		c, err := ln.Accept() // want "resource-not-released"
		if err != nil {
			return err
		}
		if _, err := io.WriteString(c, "220 ready\r\n"); err != nil {
			return err
		}
	}
}

// acceptContinueLeaks closes per iteration, but continue skips it.
func acceptContinueLeaks(ln net.Listener, allowed func(net.Addr) bool) error {
	for {
		c, err := ln.Accept() // want "resource-not-released"
		if err != nil {
			return err
		}
		if !allowed(c.RemoteAddr()) {
			continue
		}
		_, _ = io.WriteString(c, "welcome\n")
		_ = c.Close()
	}
}

// dialRetryHandshakeLeaks: a failed handshake leaves the connection open and retries.
func dialRetryHandshakeLeaks(addr string) (net.Conn, error) {
	var lastErr error
	for i := 0; i < 3; i++ {
		c, err := net.Dial("tcp", addr) // want "resource-not-released"
		if err != nil {
			lastErr = err
			continue
		}
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil || !strings.HasPrefix(line, "OK") {
			lastErr = err
			continue
		}
		return c, nil
	}
	return nil, lastErr
}

// tickerPerIteration starts a ticker per job and never stops it.
func tickerPerIteration(jobs []func() bool) {
	for _, job := range jobs {
		t := time.NewTicker(10 * time.Millisecond) // want "resource-not-released"
		for range t.C {
			if job() {
				break
			}
		}
	}
}

// listenConfigLeaks: the listener is returned on one path and leaked on another.
func listenConfigLeaks(ctx context.Context, addr string, reuse bool) (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: time.Minute}
	ln, err := lc.Listen(ctx, "tcp", addr) // want "resource-not-released"
	if err != nil {
		return nil, err
	}
	if !reuse && strings.HasSuffix(ln.Addr().String(), ":0") {
		return nil, context.Canceled
	}
	return ln, nil
}

// acceptTCPLeaks: *net.TCPConn from AcceptTCP, left open when SetNoDelay fails.
func acceptTCPLeaks(ln *net.TCPListener) (*net.TCPConn, error) {
	tc, err := ln.AcceptTCP() // want "resource-not-released"
	if err != nil {
		return nil, err
	}
	if err := tc.SetNoDelay(true); err != nil {
		return nil, err
	}
	return tc, nil
}
