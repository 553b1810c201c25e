package files

import (
	"errors"
	"os"
)

// guardedCloseOnEveryPath: a nil check around each Close still closes it on every path
// (where the check fails there is nothing to close).
func guardedCloseOnEveryPath(p string) (int, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	b := make([]byte, 10)
	n, err := f.Read(b)
	if err != nil {
		if f != nil {
			f.Close()
		}
		return 0, err
	}
	if f != nil {
		f.Close()
	}
	return n, nil
}

// guardedDeferBeforeCheck: the deferred Close behind a nil check, before the error check.
func guardedDeferBeforeCheck(p string) error {
	f, err := os.Open(p)
	if f != nil {
		defer f.Close()
	}
	if err != nil {
		return err
	}
	_, err = f.Stat()
	return err
}

// nilBranchReturns: `if f == nil` leaves before anything is open.
func nilBranchReturns(p string) error {
	f, _ := os.Open(p)
	if f == nil {
		return errors.New("no file")
	}
	defer f.Close()
	_, err := f.Stat()
	return err
}

// guardWithAnotherCondition: `f != nil && verbose` skips the Close of an open file.
func guardWithAnotherCondition(p string, verbose bool) error {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return err
	}
	if f != nil && verbose {
		f.Close()
	}
	return nil
}
