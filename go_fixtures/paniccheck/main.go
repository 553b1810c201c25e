// Command paniccheck exercises toolexec-rehab's position handling.
//
// Early in this file, readHeader leaks an *os.File (the tool inserts a
// deferred Close on the line of its error check). Later in the same file,
// explode panics. Run with no argument it reports how many descriptors
// readHeader left open; run with "panic" it crashes, and the stack trace
// must still name this file and the original line of the marked statement.
//
// The integration tests find lines by the LEAK(...) and PANIC-HERE markers.
package main

import (
	"fmt"
	"os"
	"runtime/debug"
	"strings"
)

// readHeader returns the first bytes of the file at path.
func readHeader(path string) ([]byte, error) {
	f, err := os.Open(path) // LEAK(file-not-closed)
	if err != nil {
		return nil, err
	}
	buf := make([]byte, 4)
	n, err := f.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

// openFDs counts this process's open descriptors, or -1 off Linux.
func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

// leakReport calls readHeader n times and returns how many descriptors that
// left open. The collector is off meanwhile: it would finalize leaked files.
func leakReport(n int) (int, error) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	// The first open of a regular file also creates the runtime poller's two
	// descriptors; get that out of the way before counting.
	if _, err := os.ReadFile("/proc/self/stat"); err != nil {
		return 0, err
	}
	before := openFDs()
	for i := 0; i < n; i++ {
		if _, err := readHeader(os.Args[0]); err != nil {
			return 0, err
		}
	}
	return openFDs() - before, nil
}

type registry struct {
	counts map[string]int
}

// explode writes to a nil map, which panics at run time.
func explode(names []string) int {
	var r registry
	total := 0
	for _, name := range names {
		r.counts[strings.ToLower(name)]++ // PANIC-HERE
		total++
	}
	return total
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "panic" {
		fmt.Println(explode(os.Args[1:]))
		return
	}
	leaked, err := leakReport(10)
	if err != nil {
		fmt.Fprintln(os.Stderr, "paniccheck:", err)
		os.Exit(1)
	}
	fmt.Printf("leaked_fds=%d\n", leaked)
}
