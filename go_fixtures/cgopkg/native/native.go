// Package native mixes a cgo file with a plain Go file that leaks a file.
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

import "unsafe"

// Checksum returns the 32-bit FNV-1a hash of b, computed in C.
func Checksum(b []byte) uint32 {
	if len(b) == 0 {
		return uint32(C.rehab_checksum(nil, 0))
	}
	return uint32(C.rehab_checksum((*C.uchar)(unsafe.Pointer(&b[0])), C.int(len(b))))
}
