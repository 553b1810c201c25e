package sa5001

import (
	"io"
	"os"
)

// blankError discards the error, so there is nothing to check first.
func blankError() {
	rc, _ := openStream()
	defer rc.Close()
}

// checkedFirst checks, then defers.
func checkedFirst() {
	rc, err := openStream()
	if err != nil {
		println(err)
		return
	}
	defer rc.Close()
}

// differentReader defers the close of another, already checked value.
func differentReader() {
	first, err := openStream()
	if err != nil {
		return
	}
	second, err := openStream()
	defer first.Close()
	if err != nil {
		println(err)
	}
	_ = second
}

func mustOpen(name string) *os.File {
	f, err := os.Open(name)
	if err != nil {
		panic(err)
	}
	return f
}

// singleResult has no error to check.
func singleResult(name string) {
	f := mustOpen(name)
	defer f.Close()
}

// deferInSuccessBranch defers only once the call succeeded.
func deferInSuccessBranch(name string) []byte {
	f, err := os.Open(name)
	if err == nil {
		defer f.Close()
		data, _ := io.ReadAll(f)
		return data
	}
	return nil
}

// checkedFileThenDeferred is the ordinary pattern.
func checkedFileThenDeferred(name string) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	return nil
}
