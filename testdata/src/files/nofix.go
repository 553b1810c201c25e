package files

import "os"

// canOpen discards the file: reported, not closed at once (the finalizer closes a collected
// file; a release right after the call could be seen by others).
func canOpen(p string) bool {
	_, err := os.Open(p) // want "file-not-closed"
	return err == nil
}

// openInLoopLeaks acquires inside a range loop: reported, no fix.
func openInLoopLeaks(paths []string) (int64, error) {
	var total int64
	for _, p := range paths {
		f, err := os.Open(p) // want "file-not-closed"
		if err != nil {
			return 0, err
		}
		st, err := f.Stat()
		if err != nil {
			return 0, err
		}
		total += st.Size()
	}
	return total, nil
}

// openInLoopContinueLeaks closes per iteration, but continue skips it:
// reported, no fix.
func openInLoopContinueLeaks(paths []string) int {
	n := 0
	for i := 0; i < len(paths); i++ {
		f, err := os.Open(paths[i]) // want "file-not-closed"
		if err != nil {
			continue
		}
		st, err := f.Stat()
		if err != nil || st.IsDir() {
			continue
		}
		n++
		f.Close()
	}
	return n
}

// openInLoopClosure scopes the defer with a func literal per iteration.
func openInLoopClosure(paths []string) error {
	for _, p := range paths {
		if err := func() error {
			f, err := os.Open(p)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = f.Stat()
			return err
		}(); err != nil {
			return err
		}
	}
	return nil
}
