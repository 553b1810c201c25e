// Package errcheck ports the shapes of kisielk/errcheck's testdata (default
// settings: no -blank, no -asserts, default exclusions): a call whose error
// result is dropped is reported at the call.
package errcheck

import (
	"fmt"
	"iter"
)

func mayFail() error {
	fmt.Println("returns only an error")
	return nil
}

func countAndFail() (int, error) {
	fmt.Println("returns a count and an error")
	return 0, nil
}

func countOnly() int {
	fmt.Println("returns no error")
	return 1
}

type oops string

func (o oops) Error() string { return string(o) }

func namedErr() error { return oops("bad") }

func concreteErr() oops { return oops("bad") }

func concreteErrPair() (int, oops) { return 0, oops("bad") }

type ptrOops string

func (p *ptrOops) Error() string { return string(*p) }

func ptrErr() *ptrOops {
	p := ptrOops("bad")
	return &p
}

func ptrErrPair() (int, *ptrOops) {
	p := ptrOops("bad")
	return 0, &p
}

type worker struct{}

func (worker) run() error { return nil }

type workerAlias = worker

type wrapsWorker struct {
	workerAlias
}

type ptrToWorker = *worker

type outer struct {
	w worker
}

type failer interface {
	Fail() error
}

type failerWrapper interface {
	failer
}

func pairs() iter.Seq2[string, error] {
	return func(yield func(string, error) bool) {}
}

type hooks struct {
	onSave func() error
}
