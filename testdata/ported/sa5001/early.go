// Package sa5001 ports the shapes of staticcheck's SA5001 testdata
// (dominikh/go-tools, staticcheck/sa5001): `defer x.Close()` placed right after
// a call returning (x, error), before the error is checked, is reported at the
// defer.
package sa5001

import (
	"archive/zip"
	"compress/gzip"
	"database/sql"
	"io"
	"net"
	"net/http"
	"os"
)

func openStream() (io.ReadCloser, error) { return nil, nil }

type pack struct {
	stream io.ReadCloser
}

func openPack() (pack, error) { return pack{}, nil }

type session struct{}

func (*session) Close() error { return nil }

func dialSession() (*session, error) { return &session{}, nil }

// userFunc defers before checking a user function's error.
func userFunc() {
	rc, err := openStream()
	defer rc.Close() // want "defer-before-err-check"
	if err != nil {
		println(err)
	}
}

// fieldOfResult defers on a field of the result.
func fieldOfResult() {
	p, err := openPack()
	defer p.stream.Close() // want "defer-before-err-check"
	if err != nil {
		println(err)
	}
}

// osOpen defers the file close before the check.
func osOpen(name string) error {
	f, err := os.Open(name)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// osCreate is the Create variant.
func osCreate(name string) error {
	f, err := os.Create(name)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	_, err = f.WriteString("x")
	return err
}

// osOpenFile is the OpenFile variant.
func osOpenFile(name string) error {
	f, err := os.OpenFile(name, os.O_APPEND|os.O_WRONLY, 0o600)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// osCreateTemp is the CreateTemp variant.
func osCreateTemp() (string, error) {
	f, err := os.CreateTemp("", "x")
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		return "", err
	}
	return f.Name(), nil
}

// reassignedOpen uses = instead of :=.
func reassignedOpen(a, b string) error {
	f, err := os.Open(a)
	if err != nil {
		return err
	}
	defer f.Close()
	f, err = os.Open(b)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// dbQuery defers rows.Close before the check.
func dbQuery(db *sql.DB) error {
	rs, err := db.Query("SELECT 1")
	defer rs.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return rs.Err()
}

// dbPrepare defers stmt.Close before the check.
func dbPrepare(db *sql.DB) error {
	st, err := db.Prepare("SELECT 1")
	defer st.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// dbConn defers conn.Close before the check.
func dbConn(db *sql.DB) error {
	c, err := db.Conn(nil)
	defer c.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// netDial defers conn.Close before the check.
func netDial(addr string) error {
	c, err := net.Dial("tcp", addr)
	defer c.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// netListen defers ln.Close before the check.
func netListen() error {
	ln, err := net.Listen("tcp", ":0")
	defer ln.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// zipOpen defers the archive close before the check.
func zipOpen(name string) (int, error) {
	zr, err := zip.OpenReader(name)
	defer zr.Close() // want "defer-before-err-check"
	if err != nil {
		return 0, err
	}
	return len(zr.File), nil
}

// gzipReader defers the decompressor close before the check.
func gzipReader(src io.Reader) error {
	gz, err := gzip.NewReader(src)
	defer gz.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// httpBody defers the response body close before the check.
func httpBody(addr string) error {
	r, err := http.Get(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// customCloser defers a user type's Close before the check.
func customCloser() error {
	s, err := dialSession()
	defer s.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// inLoopBody does it once per iteration.
func inLoopBody(names []string) error {
	for _, n := range names {
		f, err := os.Open(n)
		defer f.Close() // want "defer-before-err-check"
		if err != nil {
			return err
		}
	}
	return nil
}

// inFuncLiteral does it inside a literal.
func inFuncLiteral(name string) func() error {
	return func() error {
		f, err := os.Open(name)
		defer f.Close() // want "defer-before-err-check"
		return err
	}
}
