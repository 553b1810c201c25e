package bodyclose

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"
)

// closedAfterCheck closes directly once the error is handled.
func closedAfterCheck(a, b string) {
	one, err := http.Get(a)
	if err != nil {
		return
	}
	one.Body.Close()

	two, err := http.Get(b)
	if err != nil {
		return
	}
	two.Body.Close()
}

// closedThroughCopy closes through a copy of the Body field.
func closedThroughCopy(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	stream := reply.Body
	stream.Close()
}

// deferredClose is the ordinary pattern.
func deferredClose(addr string) error {
	reply, err := http.Get(addr)
	if err != nil {
		return err
	}
	defer reply.Body.Close()
	return nil
}

// literalClosesAndRuns builds a closing literal and runs it.
func literalClosesAndRuns(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	shut := func() {
		reply.Body.Close()
	}
	shut()
}

// literalWithParamCloses passes the response to a literal that closes it.
func literalWithParamCloses(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	finish := func(r *http.Response) {
		r.Body.Close()
	}
	finish(reply)
}

// literalWithBodyParamCloses passes the Body to a literal that closes it.
func literalWithBodyParamCloses(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	shut := func(rc io.ReadCloser) {
		rc.Close()
	}
	shut(reply.Body)
}

// handOver returns the response: closing is the caller's job.
func handOver(addr string) *http.Response {
	reply, _ := http.Get(addr)
	return reply
}

// callerClosesHandedOver closes what handOver gave it.
func callerClosesHandedOver(addr string) {
	reply := handOver(addr)
	reply.Body.Close()
}

// bodyAsReadCloser returns only the Body, still open, to the caller.
func bodyAsReadCloser(addr string) (io.ReadCloser, error) {
	reply, err := http.DefaultClient.Get(addr)
	if err != nil {
		return nil, err
	}
	return reply.Body, nil
}

// bodyAsCloser returns the Body as an io.Closer.
func bodyAsCloser(addr string) (io.Closer, error) {
	reply, err := http.DefaultClient.Get(addr)
	if err != nil {
		return nil, err
	}
	return reply.Body, nil
}

func closeLabelled(what string, rc io.ReadCloser) {
	if err := rc.Close(); err != nil {
		log.Printf("%s: %v", what, err)
	}
}

func closeQuietly(c io.Closer) {
	_ = c.Close()
}

// deferredLabelledHelper defers a helper that closes.
func deferredLabelledHelper(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	defer closeLabelled("reply", reply.Body)
}

// deferredCloserHelper defers a helper that takes an io.Closer.
func deferredCloserHelper(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	defer closeQuietly(reply.Body)
}

// deferredLiteralCloses closes in a deferred func literal.
func deferredLiteralCloses(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	defer func() {
		_ = reply.Body.Close()
	}()
}

// deferredLiteralPrintsCloseError prints the close error.
func deferredLiteralPrintsCloseError(req *http.Request) {
	reply, err := http.DefaultClient.Do(req)
	if err != nil {
		return
	}
	defer func() { fmt.Println(reply.Body.Close()) }()
}

func logResult(what string, err error) {
	if err != nil {
		log.Print(what, err)
	}
}

// deferredLiteralPassesCloseError hands the close error to a function.
func deferredLiteralPassesCloseError(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	defer func() { logResult("close", reply.Body.Close()) }()
}

// drainThenCloseDeferred drains and closes in one deferred literal.
func drainThenCloseDeferred(addr string) {
	reply, err := http.Get(addr)
	if err != nil {
		return
	}
	defer func() {
		_, _ = io.Copy(io.Discard, reply.Body)
		reply.Body.Close()
	}()
}

// lastReply is package state: bodyclose leaves globals alone.
var lastReply *http.Response

// storedInGlobal keeps the response in a package variable.
func storedInGlobal(addr string) {
	lastReply, _ = http.Get(addr)
}

type envelope struct {
	inner *http.Response
}

func (e *envelope) response() *http.Response { return e.inner }

// storedInFieldClosedThroughField closes through the field.
func storedInFieldClosedThroughField(addr string) {
	e := &envelope{}
	var err error
	e.inner, err = http.Get(addr)
	if err != nil {
		return
	}
	_ = e.inner.Body.Close()
}

// storedInFieldClosedThroughGetter closes through a getter method.
func storedInFieldClosedThroughGetter(addr string) {
	e := &envelope{}
	var err error
	e.inner, err = http.Get(addr)
	if err != nil {
		return
	}
	_ = e.response().Body.Close()
}

// recorderResult reads a recorder's result, whose body needs no closing.
func recorderResult() []byte {
	rec := httptest.NewRecorder()
	res := rec.Result()
	data, _ := io.ReadAll(res.Body)
	return data
}

// controllerIsNotAResponse uses a ResponseController in a handler.
func controllerIsNotAResponse(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{})
	_, _ = io.Copy(w, r.Body)
}

// closedOnEveryBranch defers the close in all three branches.
func closedOnEveryBranch(addr string) {
	reply, err := http.DefaultClient.Get(addr)
	if err != nil {
		return
	}
	if reply.StatusCode >= http.StatusInternalServerError {
		defer reply.Body.Close()
	} else if reply.StatusCode >= http.StatusBadRequest {
		defer reply.Body.Close()
	} else {
		defer reply.Body.Close()
	}
}

// assignedInBranchClosedAfter declares first, assigns conditionally, closes after.
func assignedInBranchClosedAfter(addr string, enabled bool) {
	var reply *http.Response
	if enabled {
		reply, _ = http.Get(addr)
	}
	if reply != nil {
		defer reply.Body.Close()
	}
}

func retryPolicy(limit int) func(context.Context, *http.Response, error) (bool, error) {
	return func(ctx context.Context, r *http.Response, err error) (bool, error) {
		return limit > 0 && err != nil, nil
	}
}

// policyIsNotAResponse calls a function whose result is a func, not a response.
func policyIsNotAResponse() {
	_ = retryPolicy(3)
}

// loopClosesEachIteration closes inside the loop body.
func loopClosesEachIteration(addrs []string) {
	for _, a := range addrs {
		reply, err := http.Get(a)
		if err != nil {
			continue
		}
		_, _ = io.Copy(io.Discard, reply.Body)
		reply.Body.Close()
	}
}
