// Package novet holds shapes that go vet rejects on purpose: a discarded or
// partly lost cancel func (lostcancel) and a response used before its error
// is checked (httpresponse). It is built, never vetted.
//
// The markers follow the main package's convention: "// shape: NAME" starts a
// shape, "// patch: RULE" sits above each statement a correct build patches.
package novet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"example.com/behaviour/internal/probe"
)

// shape: ctx-returned-cancel-discarded

// Detached derives a context that lives as long as its parent: its cancel
// func is dropped on purpose and the caller keeps using the context.
func Detached(parent context.Context) context.Context {
	ctx, _ := context.WithCancel(parent)
	return ctx
}

func RunCtxReturnedCancelDiscarded(string) string {
	parent, cancelParent := context.WithCancel(context.Background())
	ctx := Detached(parent)
	before := ctx.Err()
	cancelParent()
	<-ctx.Done()
	return fmt.Sprintf("before=%v afterParent=%v", before, ctx.Err())
}

// shape: derived-ctx-returned-cancel-discarded

type tagKey struct{}

// Tagged derives a context with a deadline far away, drops the cancel func
// on purpose, and returns a child of it: the derived context is still in use.
func Tagged(parent context.Context, tag string) context.Context {
	ctx, _ := context.WithTimeout(parent, time.Hour)
	return context.WithValue(ctx, tagKey{}, tag)
}

func RunDerivedCtxReturnedCancelDiscarded(string) string {
	ctx := Tagged(context.Background(), "job-9")
	_, hasDeadline := ctx.Deadline()
	return fmt.Sprintf("tag=%v deadline=%v err=%v", ctx.Value(tagKey{}), hasDeadline, ctx.Err())
}

// shape: body-defer-before-check

// probeDown defers the body's Close before checking the error of a request
// that cannot connect: resp is nil and evaluating resp.Body panics.
func probeDown(url string) error {
	resp, err := http.Get(url)
	// patch: defer-before-err-check
	defer resp.Body.Close()
	if err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func RunBodyDeferBeforeCheck(string) string {
	panics := 0
	func() {
		defer func() {
			if recover() != nil {
				panics++
			}
		}()
		probeDown(probe.RefusedURL())
	}()
	return fmt.Sprintf("panics=%d", panics)
}

// shape: cancel-lost-on-branch

func checkBudget(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		return errors.New("no deadline")
	}
	return ctx.Err()
}

func budgeted(parent context.Context, skip bool) error {
	// patch: lost-cancel
	ctx, cancel := context.WithTimeout(parent, time.Hour)
	if skip {
		cancel()
		return nil
	}
	return checkBudget(ctx)
}

func RunCancelLostOnBranch(string) string {
	p := probe.NewParent()
	err := budgeted(p, false)
	return fmt.Sprintf("err=%v live=%d", err, p.Live())
}

// shape: cancel-discarded

func sumUntilDone(ctx context.Context, n int) int {
	sum := 0
	for i := 1; i <= n && ctx.Err() == nil; i++ {
		sum += i
	}
	return sum
}

func sumScoped(parent context.Context, n int) int {
	// patch: lost-cancel
	ctx, _ := context.WithCancel(parent)
	return sumUntilDone(ctx, n)
}

func RunCancelDiscarded(string) string {
	p := probe.NewParent()
	sum := sumScoped(p, 10)
	return fmt.Sprintf("sum=%d live=%d", sum, p.Live())
}

// shape: deadline-discarded

func hasDeadline(ctx context.Context) bool {
	_, ok := ctx.Deadline()
	return ok
}

func withDeadlineCheck(parent context.Context) bool {
	// patch: lost-cancel
	ctx, _ := context.WithDeadline(parent, time.Now().Add(time.Hour))
	return hasDeadline(ctx)
}

func RunDeadlineDiscarded(string) string {
	p := probe.NewParent()
	ok := withDeadlineCheck(p)
	return fmt.Sprintf("deadline=%v live=%d", ok, p.Live())
}

// shape: cancel-watcher-goroutine

func firstWord(ctx context.Context, s string) string {
	if ctx.Err() != nil {
		return ""
	}
	for i, r := range s {
		if r == ' ' {
			return s[:i]
		}
	}
	return s
}

func scopedWord(parent context.Context, s string) string {
	// patch: lost-cancel
	ctx, _ := context.WithCancel(parent)
	return firstWord(ctx, s)
}

// watcher is where package context's goroutine waits for a parent it cannot
// register with.
const watcher = "context.(*cancelCtx).propagateCancel"

func RunCancelWatcherGoroutine(string) string {
	p := probe.NewBareParent()
	before := probe.Goroutines(watcher)
	w := scopedWord(p, "hello world")
	left := probe.Settle(func() int64 { return probe.Goroutines(watcher) - before })
	return fmt.Sprintf("word=%s goroutines=%d", w, left)
}
