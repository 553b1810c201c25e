package cancel

import (
	"context"
	"errors"
	"log"
	"os"
	"os/signal"
	"time"
)

// deferred is the canonical pattern.
func deferred(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, time.Second)
	defer cancel()
	return work(ctx)
}

// deferredClosure calls cancel inside a deferred func literal.
func deferredClosure(parent context.Context) error {
	ctx, cancel := context.WithCancel(parent)
	defer func() {
		cancel()
	}()
	return work(ctx)
}

// calledOnAllPaths calls cancel explicitly before every return.
func calledOnAllPaths(parent context.Context, n int) error {
	ctx, cancel := context.WithDeadline(parent, time.Now().Add(time.Second))
	if n == 0 {
		cancel()
		return errors.New("zero")
	}
	err := work(ctx)
	cancel()
	return err
}

// silencedButCalled: `_ = cancel` plus a call on every path.
func silencedButCalled(parent context.Context) error {
	ctx, cancel := context.WithTimeout(parent, time.Second)
	_ = cancel
	err := work(ctx)
	cancel()
	return err
}

// switchAllCasesCancel calls cancel in every case, including default.
func switchAllCasesCancel(parent context.Context, mode int) error {
	ctx, cancel := context.WithCancel(parent)
	switch mode {
	case 0:
		cancel()
		return nil
	default:
		defer cancel()
	}
	return work(ctx)
}

// panicPath: the path that skips cancel ends in panic.
func panicPath(parent context.Context, n int) error {
	ctx, cancel := context.WithCancel(parent)
	if n < 0 {
		panic("negative")
	}
	defer cancel()
	return work(ctx)
}

// fatalPath: the path that skips cancel ends in log.Fatal.
func fatalPath(parent context.Context, n int) error {
	ctx, cancel := context.WithTimeout(parent, time.Second)
	if n < 0 {
		log.Fatal("negative")
	}
	defer cancel()
	return work(ctx)
}

type job struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// storedInField keeps the cancel func in a struct field.
func (j *job) storedInField(parent context.Context) {
	ctx, cancel := context.WithCancel(parent)
	j.ctx = ctx
	j.cancel = cancel
}

// assignedToField binds the cancel func directly to a field.
func (j *job) assignedToField(parent context.Context) {
	j.ctx, j.cancel = context.WithTimeout(parent, time.Minute)
}

// storedInLiteral keeps the cancel func in a composite literal.
func storedInLiteral(parent context.Context) *job {
	ctx, cancel := context.WithCancel(parent)
	return &job{ctx: ctx, cancel: cancel}
}

// returned hands the cancel func to the caller.
func returned(parent context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithTimeout(parent, time.Second)
	return ctx, cancel
}

// calledInGoroutine cancels from a goroutine once done is closed.
func calledInGoroutine(parent context.Context, done <-chan struct{}) context.Context {
	ctx, cancel := context.WithCancel(parent)
	go func() {
		<-done
		cancel()
	}()
	return ctx
}

var shutdownHooks []func()

func onShutdown(f func()) { shutdownHooks = append(shutdownHooks, f) }

// passedToFunction hands the cancel func to a registry.
func passedToFunction(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	onShutdown(cancel)
	return ctx
}

// passedToAfterFunc cancels after a delay.
func passedToAfterFunc(parent context.Context) context.Context {
	ctx, cancel := context.WithCancel(parent)
	time.AfterFunc(time.Minute, cancel)
	return ctx
}

// sentOnChannel hands the cancel func to a receiver.
func sentOnChannel(parent context.Context, ch chan<- context.CancelFunc) context.Context {
	ctx, cancel := context.WithCancel(parent)
	ch <- cancel
	return ctx
}

// withValueHasNoCancel: WithValue and WithoutCancel return no cancel func.
func withValueHasNoCancel(parent context.Context) error {
	type key struct{}
	ctx := context.WithValue(parent, key{}, 1)
	return work(context.WithoutCancel(ctx))
}

// notifyContextNotTracked: signal.NotifyContext is not a context.With*
// function.
func notifyContextNotTracked(parent context.Context) error {
	ctx, stop := signal.NotifyContext(parent, os.Interrupt)
	defer stop()
	return work(ctx)
}
