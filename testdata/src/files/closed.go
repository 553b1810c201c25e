package files

import (
	"bufio"
	"fmt"
	"io"
	"os"
)

// deferClose is the canonical pattern.
func deferClose(p string) ([]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(f)
}

// deferClosureNamedResult closes in a deferred closure and keeps the error.
func deferClosureNamedResult(p string, data []byte) (err error) {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = f.Write(data)
	return err
}

// deferClosureWithArg passes the file to a deferred func literal.
func deferClosureWithArg(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer func(c io.Closer) {
		_ = c.Close()
	}(f)
	_, err = io.Copy(io.Discard, f)
	return err
}

// explicitCloseOnAllPaths closes before every return.
func explicitCloseOnAllPaths(p string, data []byte) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close() // want "unchecked-error"
		return err
	}
	return f.Close()
}

// ifErrClose closes with `if err := f.Close(); err != nil`.
func ifErrClose(p string) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	fmt.Fprintln(f, "x")
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// scannerThenClosed: a scanner over a deferred-closed file.
func scannerThenClosed(p string) (int, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	n := 0
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// createTempClosedAndRemoved defers both removal and close.
func createTempClosedAndRemoved(data []byte) error {
	f, err := os.CreateTemp("", "x-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name()) // want "unchecked-error"
	defer f.Close()           // want "unchecked-error"
	_, err = f.Write(data)
	return err
}

// readFileNotTracked: os.ReadFile manages the file itself.
func readFileNotTracked(p string) ([]byte, error) {
	return os.ReadFile(p)
}

// stdoutNotTracked: os.Stdout is not acquired here.
func stdoutNotTracked() {
	fmt.Fprintln(os.Stdout, "hello")
}

// loopClosedEachIteration closes every file it opens.
func loopClosedEachIteration(paths []string) (int64, error) {
	var total int64
	for _, p := range paths {
		f, err := os.Open(p)
		if err != nil {
			continue
		}
		st, err := f.Stat()
		f.Close()
		if err != nil {
			return 0, err
		}
		total += st.Size()
	}
	return total, nil
}
