// Package lostcancel ports the shapes of go vet's lostcancel testdata
// (golang.org/x/tools/go/analysis/passes/lostcancel): a cancel function that is
// discarded, or not used on every path, is reported at the WithCancel call.
package lostcancel

import (
	"context"
	"errors"
	"log"
	"os"
	"time"
)

var (
	root  = context.Background()
	flag  bool
	level int
)

// varFormNeverCalled declares with var and only mentions cancel on a dead branch.
func varFormNeverCalled() {
	var _, stop = context.WithCancel(root) // want "lost-cancel"
	if flag {
		_ = stop
	}
}

// deadlineMentionedOnBranch uses := with WithDeadline.
func deadlineMentionedOnBranch() {
	_, stop := context.WithDeadline(root, time.Time{}) // want "lost-cancel"
	if flag {
		_ = stop
	}
}

// predeclaredTimeout assigns into a declared variable.
func predeclaredTimeout() {
	var stop func()
	_, stop = context.WithTimeout(root, 0) // want "lost-cancel"
	if flag {
		_ = stop
	}
}

// discardedCancels drops the cancel function outright, three ways.
func discardedCancels() {
	c, _ := context.WithCancel(root)              // want "lost-cancel"
	c, _ = context.WithTimeout(root, time.Second) // want "lost-cancel"
	c, _ = context.WithDeadline(root, time.Now()) // want "lost-cancel"
	_ = c
}

// discardedCauseCancels drops the cancel of the *Cause variants.
func discardedCauseCancels() {
	c, _ := context.WithCancelCause(root)                                  // want "lost-cancel"
	c, _ = context.WithTimeoutCause(root, time.Second, errors.New("slow")) // want "lost-cancel"
	_ = c
}

// cancelledOnlyWhenFlagged cancels on one branch and returns.
func cancelledOnlyWhenFlagged() {
	_, stop := context.WithCancel(root) // want "lost-cancel"
	if flag {
		stop()
	}
	return
}

// elseHasBoundedLoop: the else branch loops a while, then falls out.
func elseHasBoundedLoop() {
	_, stop := context.WithCancel(root) // want "lost-cancel"
	if flag {
		stop()
	} else {
		for i := 0; i < 3; i++ {
			log.Print(i)
		}
	}
}

// switchFallsOut: one case reaches the implicit return without cancelling.
func switchFallsOut() {
	_, stop := context.WithCancel(root) // want "lost-cancel"
	switch level {
	case 0:
		log.Fatal("zero")
	case 1:
		stop()
	case 2:
		log.Print("two")
	default:
		os.Exit(2)
	}
}

// selectFallsOut: one select case reaches the end without cancelling.
func selectFallsOut(ch chan int) {
	_, stop := context.WithCancel(root) // want "lost-cancel"
	select {
	case <-ch:
		log.Fatal("closed")
	case ch <- 1:
		log.Print("sent")
	case ch <- 2:
		stop()
	default:
		os.Exit(3)
	}
}

// insideGoroutine loses the cancel inside a goroutine's literal.
func insideGoroutine() {
	go func() {
		c, stop := context.WithCancel(root) // want "lost-cancel"
		if flag {
			_ = stop
		}
		log.Print(c)
	}()
}

// genericVarForm is the var form in a generic function.
func genericVarForm[T any](v T) {
	var _, stop = context.WithCancel(root) // want "lost-cancel"
	if flag {
		_ = stop
	}
	log.Print(v)
}

// genericDiscard drops cancels inside a generic function.
func genericDiscard[T any](parent context.Context, v T) {
	c, _ := context.WithCancel(parent)    // want "lost-cancel"
	c, _ = context.WithTimeout(parent, 0) // want "lost-cancel"
	log.Print(c, v)
}

// returnBeforeDefer returns on an error before the defer is reached.
func returnBeforeDefer(parent context.Context, ready func(context.Context) error) error {
	c, stop := context.WithTimeout(parent, time.Second) // want "lost-cancel"
	if err := ready(c); err != nil {
		return err
	}
	defer stop()
	return nil
}
