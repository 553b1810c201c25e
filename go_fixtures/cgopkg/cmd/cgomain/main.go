// Command cgomain is a package of cgo files only: it calls C, and readFirst
// leaks a file. It reports how many descriptors ten calls leaked (10 in a plain
// build, 0 through toolexec-rehab); `cgomain panic` panics in main.
package main

/*
typedef struct { const unsigned char *p; } span;

static int first(span *s, int fallback) { return s->p ? s->p[0] : fallback; }
static int twice(int n) { return 2 * n; }
*/
import "C"

import (
	"fmt"
	"os"
	"runtime/debug"
)

// fallback goes through cgo's pointer check: cgo writes the call on fewer
// lines than it has here, then gives the position of what follows back.
func fallback(n int) int {
	var s C.span
	return int(C.first(&s,
		C.int(
			n)))
}

// readFirst returns twice the first byte of the file at path, computed in C.
// It leaks the file when the read succeeds.
func readFirst(path string) (int, error) {
	f, err := os.Open(path) // LEAK(file-not-closed)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 1)
	if _, err := f.Read(buf); err != nil {
		return 0, err
	}
	return int(C.twice(C.int(buf[0]))), nil
}

func openFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}

func main() {
	if len(os.Args) > 1 && os.Args[1] == "panic" {
		var m map[string]int
		m[fmt.Sprint(fallback(7))] = 1 // PANIC-HERE
	}
	fmt.Printf("fallback_ok=%t\n", fallback(7) == 7)
	// A collection would finalize the leaked files: keep the collector off.
	debug.SetGCPercent(-1)
	// Warm the runtime poller (its first use opens two descriptors).
	if _, err := os.ReadFile("/proc/self/stat"); err != nil {
		fmt.Fprintln(os.Stderr, "cgomain:", err)
		os.Exit(1)
	}
	before := openFDs()
	for i := 0; i < 10; i++ {
		if _, err := readFirst(os.Args[0]); err != nil {
			fmt.Fprintln(os.Stderr, "cgomain:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("leaked_fds=%d\n", openFDs()-before)
}
