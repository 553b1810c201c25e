// Package native mixes a cgo file with a plain Go file; each leaks a file.
package native

/*
#include <stdint.h>

static uint32_t rehab_checksum(const unsigned char *p, int n) {
	uint32_t h = 2166136261u;
	for (int i = 0; i < n; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}
*/
import "C"

import (
	"os"
	"unsafe"
)

// Checksum returns the 32-bit FNV-1a hash of b, computed in C.
func Checksum(b []byte) uint32 {
	if len(b) == 0 {
		return uint32(C.rehab_checksum(nil, 0))
	}
	return uint32(C.rehab_checksum((*C.uchar)(unsafe.Pointer(&b[0])), C.int(len(b))))
}

// SumFile hashes the first bytes of the file at path in C. It leaks the file
// when the read succeeds.
func SumFile(path string) (uint32, error) {
	f, err := os.Open(path) // LEAK(file-not-closed)
	if err != nil {
		return 0, err
	}
	buf := make([]byte, 64)
	n, err := f.Read(buf)
	if err != nil {
		return 0, err
	}
	return uint32(C.rehab_checksum((*C.uchar)(unsafe.Pointer(&buf[0])), C.int(n))), nil
}
