package cancel

import "context"

// silencedWithCancelCause: the CancelCauseFunc takes a cause, so the fix
// defers cancel(nil).
func silencedWithCancelCause(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent) // want "lost-cancel"
	_ = cancel
	return work(ctx)
}

// causeDeferred is the canonical pattern for WithCancelCause.
func causeDeferred(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	defer cancel(nil)
	return work(ctx)
}

// causeCalledOnAllPaths calls cancel with a cause on every path.
func causeCalledOnAllPaths(parent context.Context) error {
	ctx, cancel := context.WithCancelCause(parent)
	if err := work(ctx); err != nil {
		cancel(err)
		return err
	}
	cancel(nil)
	return nil
}
