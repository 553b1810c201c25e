package files

import (
	"bufio"
	"io"
	"os"
)

var logFile *os.File

var openFiles = map[string]*os.File{}

type logger struct {
	out *os.File
}

type namedFile struct {
	name string
	f    *os.File
}

// returnFile hands the file to the caller.
func returnFile(p string) (*os.File, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// returnWrapped hands the file to the caller inside a struct.
func returnWrapped(p string) (*namedFile, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	return &namedFile{name: p, f: f}, nil
}

// storeGlobal keeps the file in a package-level variable.
func storeGlobal(p string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	logFile = f
	return nil
}

// storeMap keeps the file in a package-level map.
func storeMap(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	openFiles[p] = f
	return nil
}

// storeField keeps the file in a struct field.
func (l *logger) storeField(p string) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	l.out = f
	return nil
}

// sendFile hands the file to a receiver.
func sendFile(p string, ch chan<- *os.File) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	ch <- f
	return nil
}

// goroutineCloses hands the file to a goroutine that closes it.
func goroutineCloses(p string, lines chan<- string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	go func() {
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	return nil
}

// goHelperCloses starts a goroutine on a helper that closes its parameter.
func goHelperCloses(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	go consumeAndClose(f)
	return nil
}

func consumeAndClose(f *os.File) {
	io.Copy(io.Discard, f) // want "unchecked-error"
	f.Close()              // want "unchecked-error"
}

// unknownConsumer: use is unknown and may take ownership.
func unknownConsumer(p string, use func(io.ReadCloser)) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	use(f)
	return nil
}

// partialTransfer returns the file on one path and leaks it on another:
// reported, no fix.
func partialTransfer(p string, wantDir bool) (*os.File, error) {
	f, err := os.Open(p) // want "file-not-closed"
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if st.IsDir() != wantDir {
		return nil, os.ErrInvalid
	}
	return f, nil
}
