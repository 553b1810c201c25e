package errwrap

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
)

var errEmpty = errors.New("empty")

func validate(s string) error {
	if s == "" {
		return errEmpty
	}
	return nil
}

type parser struct{ base int }

func (p *parser) parse(s string) (int64, error) {
	n, err := strconv.ParseInt(s, p.base, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return n, nil
}

// samePackageFunc: err comes from this package's own function.
func samePackageFunc(s string) error {
	err := validate(s)
	if err != nil {
		return err
	}
	return nil
}

// samePackageMethod: err comes from this package's own method.
func samePackageMethod(p *parser, s string) (int64, error) {
	n, err := p.parse(s)
	if err != nil {
		return 0, err
	}
	return n, nil
}

// alreadyWrapped wraps the error itself.
func alreadyWrapped(p string) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return b, nil
}

// returnNil returns no error.
func returnNil(p string) error {
	if _, err := os.Stat(p); err != nil {
		return nil
	}
	return nil
}

// fromErrorsNew: err is created here, not returned by a callee.
func fromErrorsNew(s string) error {
	err := errors.New("bad input")
	if s == "" {
		return err
	}
	return nil
}

// fromErrorf: err is built with fmt.Errorf here.
func fromErrorf(s string) error {
	var err error
	if s == "" {
		err = fmt.Errorf("empty input")
	}
	if err != nil {
		return err
	}
	return nil
}

// lastAssignedLocally: err was last assigned from a same-package call.
func lastAssignedLocally(p string) error {
	_, err := os.Stat(p)
	if err == nil {
		err = validate(p)
	} else {
		err = errEmpty
	}
	if err != nil {
		return err
	}
	return nil
}

// parameterError: err is a parameter, never assigned here.
func parameterError(err error) error {
	if err != nil {
		return err
	}
	return nil
}

// notAnIdentifier returns call results and sentinels, not err.
func notAnIdentifier(r io.Reader, buf []byte) error {
	if _, err := r.Read(buf); err != nil {
		return io.ErrUnexpectedEOF
	}
	return os.Chdir(os.TempDir())
}

// sentinelCompared: the std error is only compared, a new one returned.
func sentinelCompared(p string) error {
	_, err := os.Stat(p)
	if errors.Is(err, os.ErrNotExist) {
		return errEmpty
	}
	return nil
}
