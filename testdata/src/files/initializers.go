package files

// Acquisitions in the initializer of an if or switch statement (issue 16, item 8): the
// value lives in that statement; each way through it must release it. Reported only.

import (
	"io"
	"os"
)

func readInIf(p string) []byte {
	if f, err := os.Open(p); err == nil { // want "file-not-closed"
		b, _ := io.ReadAll(f)
		return b
	}
	return nil
}

func closedInIf(p string) []byte {
	if f, err := os.Open(p); err == nil {
		defer f.Close()
		b, _ := io.ReadAll(f)
		return b
	}
	return nil
}

func elseForm(p string) ([]byte, error) {
	if f, err := os.Open(p); err != nil {
		return nil, err
	} else {
		defer f.Close()
		return io.ReadAll(f)
	}
}

func elseLeak(p string) ([]byte, error) {
	if f, err := os.Open(p); err != nil { // want "file-not-closed"
		return nil, err
	} else {
		return io.ReadAll(f)
	}
}

func switchInit(p string) ([]byte, error) {
	switch f, err := os.Open(p); { // want "file-not-closed"
	case err != nil:
		return nil, err
	default:
		return io.ReadAll(f)
	}
}

func switchClosed(p string) ([]byte, error) {
	switch f, err := os.Open(p); {
	case err != nil:
		return nil, err
	default:
		defer f.Close()
		return io.ReadAll(f)
	}
}

// nilGuardedInit: a nil check of the value in the condition.
func nilGuardedInit(p string) {
	if f, _ := os.Open(p); f != nil {
		defer f.Close()
		_, _ = f.Stat()
	}
}

// noDefaultCase: a switch without default leaves the file open when no case runs.
func noDefaultCase(p string, n int) ([]byte, error) {
	switch f, err := os.Open(p); { // want "file-not-closed"
	case err != nil:
		return nil, err
	case n > 0:
		defer f.Close()
		return io.ReadAll(f)
	}
	return nil, nil
}
