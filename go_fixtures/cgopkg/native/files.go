package native

import (
	"os"
)

// HeadChecksum hashes the first bytes of the file at path. It never closes
// the file.
func HeadChecksum(path string) (uint32, error) {
	f, err := os.Open(path) // LEAK(file-not-closed)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64)
	n, err := f.Read(buf)
	if err != nil {
		return 0, err
	}
	return Checksum(buf[:n]), nil
}

// OpenFDs counts this process's open descriptors, or -1 off Linux.
func OpenFDs() int {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return -1
	}
	return len(ents)
}
