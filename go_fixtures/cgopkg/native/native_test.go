package native

import (
	"fmt"
	"os"
	"runtime/debug"
	"testing"
)

// TestSumFileLeaks logs how many descriptors three SumFile calls leaked (3 in a
// plain build, 0 through toolexec-rehab).
func TestSumFileLeaks(t *testing.T) {
	debug.SetGCPercent(-1)
	if _, err := os.ReadFile("/proc/self/stat"); err != nil {
		t.Fatal(err)
	}
	before := OpenFDs()
	for i := 0; i < 3; i++ {
		if _, err := SumFile("native.go"); err != nil {
			t.Fatal(err)
		}
	}
	fmt.Printf("leaked_fds=%d\n", OpenFDs()-before)
}
