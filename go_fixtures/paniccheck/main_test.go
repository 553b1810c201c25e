package main

import (
	"bytes"
	"os"
	"testing"
)

func TestReadHeader(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	got, err := readHeader(exe)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, []byte("\x7fELF")) {
		t.Fatalf("readHeader(%s) = %q, want ELF magic", exe, got)
	}
	if _, err := readHeader(exe + ".does-not-exist"); err == nil {
		t.Fatal("readHeader of a missing file succeeded")
	}
}

func TestLeakReport(t *testing.T) {
	leaked, err := leakReport(3)
	if err != nil {
		t.Fatal(err)
	}
	// 3 in a plain build, 0 when built through toolexec-rehab. Both are
	// valid here; the integration tests read the logged number.
	t.Logf("leaked_fds=%d", leaked)
}

func TestExplodePanics(t *testing.T) {
	if got := explode(nil); got != 0 {
		t.Fatalf("explode(nil) = %d, want 0", got)
	}
	defer func() {
		if recover() == nil {
			t.Fatal("explode did not panic")
		}
	}()
	explode([]string{"x"})
}
