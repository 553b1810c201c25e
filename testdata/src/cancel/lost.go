package cancel

import (
	"context"
	"errors"
	"log"
	"time"
)

func work(ctx context.Context) error { return ctx.Err() }

// silencedWithCancel only silences vet: `_ = cancel` is not a call.
func silencedWithCancel(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// silencedWithTimeout: WithTimeout, cancel never called.
func silencedWithTimeout(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, time.Second) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// silencedWithDeadline: WithDeadline, cancel never called.
func silencedWithDeadline(parent context.Context, at time.Time) error {
	ctx, cancel := context.WithDeadline(parent, at) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// silencedWithTimeoutCause: WithTimeoutCause returns a plain CancelFunc.
func silencedWithTimeoutCause(parent context.Context) error {
	ctx, cancel := context.WithTimeoutCause(parent, time.Second, errors.New("slow")) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// silencedWithDeadlineCause: WithDeadlineCause returns a plain CancelFunc.
func silencedWithDeadlineCause(parent context.Context, at time.Time) error {
	ctx, cancel := context.WithDeadlineCause(parent, at, errors.New("late")) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// earlyReturnSkipsCancel: the n == 0 return never calls cancel.
func earlyReturnSkipsCancel(parent context.Context, n int) error {
	ctx, cancel := context.WithTimeout(parent, time.Second) // want "lost-cancel"
	_ = cancel
	if n == 0 {
		return errors.New("zero")
	}
	err := work(ctx)
	cancel()
	return err
}

// cancelledInOneBranchOnly calls cancel only when verbose is set.
func cancelledInOneBranchOnly(parent context.Context, verbose bool) {
	ctx, cancel := context.WithCancel(parent) // want "lost-cancel"
	_ = cancel
	if verbose {
		log.Println(work(ctx))
		cancel()
	} else {
		log.Println("not cancelling")
	}
}

// assignNotDefine acquires with = into previously declared variables.
func assignNotDefine(parent context.Context) error {
	var ctx context.Context
	var cancel context.CancelFunc
	ctx, cancel = context.WithTimeout(parent, time.Minute) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// reuseCtxVariable narrows the parameter itself.
func reuseCtxVariable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Second) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// customName calls the cancel func stop.
func customName(parent context.Context) error {
	ctx, stop := context.WithCancel(parent) // want "lost-cancel"
	_ = stop
	return work(ctx)
}

// multiLineCall spans several lines; the fix goes on the last line.
func multiLineCall(parent context.Context, d time.Duration) error {
	ctx, cancel := context.WithTimeout( // want "lost-cancel"
		parent,
		d,
	)
	_ = cancel
	return work(ctx)
}

// insideIf acquires inside a nested block.
func insideIf(parent context.Context, bounded bool) error {
	if bounded {
		ctx, cancel := context.WithTimeout(parent, time.Second) // want "lost-cancel"
		_ = cancel
		return work(ctx)
	}
	return work(parent)
}

type server struct {
	base context.Context
}

// method: the rule applies to methods too.
func (s *server) method() error {
	ctx, cancel := context.WithCancel(s.base) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// insideFuncLit: the defer belongs to the func literal.
func insideFuncLit(parent context.Context) func() error {
	return func() error {
		ctx, cancel := context.WithTimeout(parent, time.Second) // want "lost-cancel"
		_ = cancel
		return work(ctx)
	}
}
