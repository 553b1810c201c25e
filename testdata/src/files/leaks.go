package files

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
)

// openNeverClosed reads the file but never closes it.
func openNeverClosed(p string) ([]byte, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return nil, err
	}
	return io.ReadAll(f)
}

// openFileNeverClosed uses os.OpenFile.
func openFileNeverClosed(p string, line string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644) // want "file-not-closed"
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(f, line)
	return err
}

// createNeverClosed uses os.Create.
func createNeverClosed(p string, data []byte) error {
	f, err := os.Create(p) // want "file-not-closed"
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	return err
}

// createTempReturnsName returns the name, not the file.
func createTempReturnsName(data []byte) (string, error) {
	tmp, err := os.CreateTemp("", "rehab-*") // want "file-not-closed"
	if err != nil {
		return "", err
	}
	if _, err := tmp.Write(data); err != nil {
		return "", err
	}
	return tmp.Name(), nil
}

// writeErrorLeaks closes only when Write succeeds.
func writeErrorLeaks(p string, data []byte) error {
	f, err := os.Create(p) // want "file-not-closed"
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Close()
}

// earlyReturnBeforeDefer returns before the defer is registered.
func earlyReturnBeforeDefer(p string) (int, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return 0, err
	}
	st, err := f.Stat()
	if err != nil {
		return 0, err
	}
	if st.IsDir() {
		return 0, fmt.Errorf("%s is a directory", p)
	}
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	return n, sc.Err()
}

// scannerNotClosed: bufio.NewScanner does not take ownership.
func scannerNotClosed(p string) ([]string, error) {
	file, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return nil, err
	}
	var lines []string
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	return lines, sc.Err()
}

// readerNotClosed: bufio.NewReader does not take ownership.
func readerNotClosed(p string) (string, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return "", err
	}
	r := bufio.NewReader(f)
	return r.ReadString('\n')
}

// decoderNotClosed: json.NewDecoder does not take ownership.
func decoderNotClosed(p string, v any) error {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return fmt.Errorf("open config: %w", err)
	}
	return json.NewDecoder(f).Decode(v)
}

// readFullNotClosed: io.ReadFull does not take ownership.
func readFullNotClosed(p string) ([]byte, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return nil, err
	}
	header := make([]byte, 8)
	if _, err := io.ReadFull(f, header); err != nil {
		return nil, err
	}
	return header, nil
}

// panicOnErrNotClosed: panics on errors, but the normal return leaks.
func panicOnErrNotClosed(p string) os.FileInfo {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		panic(err)
	}
	st, err := f.Stat()
	if err != nil {
		panic(err)
	}
	return st
}
