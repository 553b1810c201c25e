package files

import (
	"fmt"
	"log"
	"os"
)

// fatalPathNotALeak: the unclosed path ends in log.Fatalf.
func fatalPathNotALeak(p string) {
	f, err := os.Open(p)
	if err != nil {
		log.Fatal(err)
	}
	st, err := f.Stat()
	if err != nil {
		log.Fatalf("stat: %v", err)
	}
	fmt.Println(st.Size())
	f.Close()
}

// exitPathNotALeak: the unclosed paths end in os.Exit.
func exitPathNotALeak(p string) {
	f, err := os.Create(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if _, err := f.WriteString("hello\n"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if err := f.Close(); err != nil {
		os.Exit(3)
	}
}

// panicPathNotALeak: the unclosed path ends in panic.
func panicPathNotALeak(p string) int64 {
	f, err := os.Open(p)
	if err != nil {
		panic(err)
	}
	st, err := f.Stat()
	if err != nil {
		panic(fmt.Sprintf("stat %s: %v", p, err))
	}
	f.Close()
	return st.Size()
}
