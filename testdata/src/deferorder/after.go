package deferorder

import (
	"io"
	"log"
	"os"
	"sync"
)

// deferAfterCheck is the canonical pattern.
func deferAfterCheck(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

var mu sync.Mutex

// deferNotRootedAtResult defers an unrelated call between the acquisition
// and the check.
func deferNotRootedAtResult(p string) ([]byte, error) {
	mu.Lock()
	f, err := os.Open(p)
	defer mu.Unlock()
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// deferOnOtherValue defers a method of a value acquired earlier.
func deferOnOtherValue(p string) error {
	src, err := os.Open(p)
	if err != nil {
		return err
	}
	dst, err := os.CreateTemp("", "copy")
	defer src.Close()
	if err != nil {
		return err
	}
	defer dst.Close() // want "unchecked-error"
	_, err = io.Copy(dst, src)
	return err
}

// closeHelper closes its parameter.
func closeHelper(c io.Closer) {
	if c != nil {
		_ = c.Close()
	}
}

// deferHelperWithArg passes the value to a deferred helper: the deferred
// call is not a method of f.
func deferHelperWithArg(p string) error {
	f, err := os.Open(p)
	defer closeHelper(f)
	if err != nil {
		return err
	}
	_, err = f.Stat()
	return err
}

// noErrCheckFollows: another statement sits between the defer and the check.
func noErrCheckFollows(p string) error {
	f, err := os.Open(p)
	defer f.Close() // want "defer-before-err-check"
	log.Printf("opening %s", p)
	if err != nil {
		return err
	}
	_, err = f.Stat()
	return err
}

// errCheckDoesNotLeave only logs the error.
func errCheckDoesNotLeave(p string) {
	f, err := os.Open(p)
	defer f.Close() // want "defer-before-err-check"
	if err != nil {
		log.Printf("open: %v", err)
	}
}

// checkOnOtherError checks a different error variable.
func checkOnOtherError(p string, prior error) error {
	f, err := os.Open(p)
	defer f.Close() // want "defer-before-err-check"
	if prior != nil {
		return prior
	}
	if err != nil {
		return err
	}
	_, err = f.Stat()
	return err
}

// ignoredError discards the error: there is no check to move the defer past.
func ignoredError(p string) int64 {
	f, _ := os.Open(p)
	defer f.Close() // want "defer-before-err-check"
	st, err := f.Stat()
	if err != nil {
		return -1
	}
	return st.Size()
}

type lock struct{ path string }

func (l *lock) Release() { _ = os.Remove(l.path) }

func newLock(p string) *lock { return &lock{path: p} }

// noErrorResult: the acquisition has no error result.
func noErrorResult(p string) error {
	l := newLock(p)
	defer l.Release()
	if p == "" {
		return os.ErrInvalid
	}
	return nil
}
