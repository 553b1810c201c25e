package lostcancel

import (
	"context"
	"log"
	"os"
)

// deferred is the ordinary pattern.
func deferred() {
	_, stop := context.WithCancel(root)
	defer stop()
}

// elseLoopsForever: the other branch never returns.
func elseLoopsForever() {
	_, stop := context.WithCancel(root)
	if flag {
		stop()
	} else {
		for {
			log.Print("spin")
		}
	}
}

// switchAllTerminate: every other case ends the program.
func switchAllTerminate() {
	_, stop := context.WithCancel(root)
	switch level {
	case 0:
		log.Fatal("zero")
	case 1:
		panic("one")
	case 2:
		stop()
	case 3:
		log.Print("three")
		fallthrough
	default:
		os.Exit(1)
	}
}

// blockingSelectPanics: the only case panics, so the rest is unreachable.
func blockingSelectPanics(ch chan int) {
	_, stop := context.WithCancel(root)
	select {
	case <-ch:
		panic("closed")
	}
	if flag {
		_ = stop
	}
}

// callingAFieldFunc is a call through a struct field, not a context call.
func callingAFieldFunc() {
	var s struct{ run func() }
	s.run()
}

// nakedReturnOfNamed returns the cancel through named results.
func nakedReturnOfNamed() (c context.Context, stop func()) {
	c, stop = context.WithCancel(root)
	return
}

// literalNakedReturn is the same in a func literal.
var literalNakedReturn = func() (c context.Context, stop func()) {
	c, stop = context.WithCancel(root)
	return
}

// assignedInLiteralCalledAfter assigns inside an immediately run literal.
func assignedInLiteralCalledAfter() {
	var stop func()
	func() {
		_, stop = context.WithCancel(root)
	}()
	stop()
}

type cancellerFactory interface {
	WithCancel(parent context.Context) (context.Context, func())
}

// userMethodNotContextPackage calls a method that merely shares the name.
func userMethodNotContextPackage(f cancellerFactory) {
	c, _ := f.WithCancel(root)
	_ = c
}

// returnedPair hands both to the caller.
func returnedPair(parent context.Context) (context.Context, context.CancelFunc) {
	c, stop := context.WithCancel(parent)
	return c, stop
}

type job struct {
	stop context.CancelFunc
}

// storedInField keeps the cancel for later.
func (j *job) storedInField(parent context.Context) context.Context {
	c, stop := context.WithCancel(parent)
	j.stop = stop
	return c
}

// calledOnEveryPath calls cancel explicitly on both branches.
func calledOnEveryPath(parent context.Context) error {
	c, stop := context.WithCancel(parent)
	if err := c.Err(); err != nil {
		stop()
		return err
	}
	stop()
	return nil
}

// genericDeferred defers in a generic function.
func genericDeferred[T any](v T) {
	_, stop := context.WithCancel(root)
	defer stop()
	log.Print(v)
}
