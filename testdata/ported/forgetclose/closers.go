package forgetclose

import (
	"archive/zip"
	"compress/gzip"
	"io"
	"net"
	"os"
)

// fileReopened opens twice and closes only the second, nil-guarded.
func fileReopened(name string) {
	f, _ := os.Open(name) // want "file-not-closed"
	f, _ = os.Open(name)
	if f != nil {
		f.Close()
	}
	f, _ = os.Open(name) // want "file-not-closed"
	if f != nil {
		f.Stat()
	}
}

// fileStatOnly uses the file and never closes it.
func fileStatOnly(name string) (int64, error) {
	f, err := os.Open(name) // want "file-not-closed"
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return st.Size(), nil
}

// createdNotClosed writes a new file and never closes it.
func createdNotClosed(name string, data []byte) error {
	f, err := os.Create(name) // want "file-not-closed"
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}

// dialedNotClosed dials and forgets the connection.
func dialedNotClosed(addr string) error {
	c, err := net.Dial("tcp", addr) // want "resource-not-released"
	if err != nil {
		return err
	}
	_, err = c.Write([]byte("ping"))
	return err
}

// listenerNotClosed listens and forgets the listener.
func listenerNotClosed() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0") // want "resource-not-released"
	if err != nil {
		return "", err
	}
	return ln.Addr().String(), nil
}

// zipNotClosed opens an archive and forgets it.
func zipNotClosed(name string) (int, error) {
	zr, err := zip.OpenReader(name) // want "resource-not-released"
	if err != nil {
		return 0, err
	}
	return len(zr.File), nil
}

// gzipNotClosed wraps a reader (closed) and forgets the gzip reader.
func gzipNotClosed(name string) ([]byte, error) {
	f, err := os.Open(name)
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

// sqlConnNotClosed takes a dedicated connection and never returns it.
func sqlConnNotClosed() error {
	c, err := pg.Conn(cx) // want "resource-not-released"
	if err != nil {
		return err
	}
	return c.PingContext(cx)
}

// fileClosedWhenPresent closes behind a nil check.
func fileClosedWhenPresent(name string) {
	f, _ := os.Open(name)
	if f != nil {
		f.Close()
	}
}

// dialedDeferred closes the connection.
func dialedDeferred(addr string) error {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Write([]byte("ping"))
	return err
}

// listenerReturned hands the listener to the caller.
func listenerReturned() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	return ln, nil
}

// zipDeferred closes the archive.
func zipDeferred(name string) (int, error) {
	zr, err := zip.OpenReader(name)
	if err != nil {
		return 0, err
	}
	defer zr.Close()
	return len(zr.File), nil
}
