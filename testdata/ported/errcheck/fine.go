package errcheck

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
	"hash/maphash"
	"io"
	mrand "math/rand"
	"os"
	"strings"
	"time"
)

var nilTime time.Time

// blankSingle assigns a lone error to the blank identifier (no -blank).
func blankSingle() {
	_ = mayFail()
	var w worker
	_ = w.run()
}

// blankPair assigns both results to blanks.
func blankPair() {
	_, _ = countAndFail()
}

// blankInDefine keeps the value and blanks the error.
func blankInDefine() int {
	n, _ := countAndFail()
	_, m := mayFail(), 5
	return n + m
}

// noErrorResult calls functions without an error result.
func noErrorResult() {
	countOnly()
	_ = countOnly()
}

// assertions are not checked without -asserts.
func assertions(v any) {
	a := v.(string)
	a = v.(string)
	b, _ := v.(string)
	c, ok := v.(string)
	switch d := v.(type) {
	case string:
		_ = d
	}
	_, _, _, _ = a, b, c, ok
}

// printing to stdout is excluded.
func printing() {
	fmt.Println("x")
	fmt.Printf("%d\n", 1)
	fmt.Print("y")
}

// bufferWrites are excluded.
func bufferWrites() {
	var buf bytes.Buffer
	buf.Write([]byte("a"))
	buf.WriteString("b")
	buf.WriteByte('c')
	buf.WriteRune('d')
	pb := &bytes.Buffer{}
	pb.WriteString("e")
}

// builderWrites are excluded.
func builderWrites() string {
	var sb strings.Builder
	sb.WriteString("f")
	sb.WriteByte('g')
	sb.WriteRune('h')
	return sb.String()
}

// fprintToBuffers prints into in-memory writers and stderr, all excluded.
func fprintToBuffers() {
	var buf bytes.Buffer
	var sb strings.Builder
	fmt.Fprintf(&buf, "%d", 2)
	fmt.Fprintln(&sb, "i")
	fmt.Fprintln(os.Stderr, "warning")
}

// hashWrites are excluded.
func hashWrites() {
	sha256.New().Write([]byte("j"))
	var mh maphash.Hash
	mh.WriteString("k")
}

// randomReads are excluded (math/rand and crypto/rand).
func randomReads() {
	mrand.Read(make([]byte, 4))
	mrand.New(mrand.NewSource(1)).Read(make([]byte, 4))
	rand.Read(make([]byte, 4))
}

// pipeCloseWithError is excluded.
func pipeCloseWithError() {
	pr, pw := io.Pipe()
	pr.CloseWithError(nil)
	pw.CloseWithError(nil)
}

// usedErrors checks what it gets.
func usedErrors() error {
	if err := mayFail(); err != nil {
		return err
	}
	for s, err := range pairs() {
		if err != nil {
			return err
		}
		_ = s
	}
	n, err := countAndFail()
	_ = n
	return err
}

type convErr struct{}

func (convErr) Error() string { return "conv" }

// conversionIsNotACall converts to an error type; nothing is called.
var _ error = (*convErr)(nil)
