package files

import (
	"context"
	"os"
	"testing"
)

// A file closed by a cleanup callback: closing it at function exit would close it under the
// callback (the shape of testing.common.Chdir). Handed off: no report.
func chdirLike(t *testing.T, dir string) {
	oldwd, err := os.Open(".")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chdir(dir); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		err := oldwd.Chdir()
		oldwd.Close()
		if err != nil {
			panic(err)
		}
	})
}

// context.AfterFunc keeps the closure for later.
func closeWhenDone(ctx context.Context, p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	context.AfterFunc(ctx, func() { f.Close() })
	return nil
}

// An immediately invoked literal that closes: a close on that path.
func closedInPlace(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	func() { f.Close() }()
	return nil
}
