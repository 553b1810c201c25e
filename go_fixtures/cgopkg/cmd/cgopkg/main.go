// Command cgopkg calls into C, then reports how many descriptors
// native.HeadChecksum leaks (10 in a plain build, 0 through toolexec-rehab).
package main

import (
	"fmt"
	"hash/fnv"
	"os"
	"runtime/debug"

	"example.com/cgopkg/native"
)

func main() {
	want := fnv.New32a()
	want.Write([]byte("rehab"))
	fmt.Printf("checksum_ok=%t\n", native.Checksum([]byte("rehab")) == want.Sum32())

	// A collection would finalize the leaked files: keep the collector off.
	debug.SetGCPercent(-1)
	// Warm the runtime poller (its first use opens two descriptors).
	if _, err := os.ReadFile("/proc/self/stat"); err != nil {
		fmt.Fprintln(os.Stderr, "cgopkg:", err)
		os.Exit(1)
	}
	before := native.OpenFDs()
	for i := 0; i < 10; i++ {
		if _, err := native.HeadChecksum(os.Args[0]); err != nil {
			fmt.Fprintln(os.Stderr, "cgopkg:", err)
			os.Exit(1)
		}
	}
	fmt.Printf("leaked_fds=%d\n", native.OpenFDs()-before)
}
