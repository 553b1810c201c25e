// Package bodyclose ports the shapes of timakin/bodyclose's testdata: a
// response whose Body is never closed is reported at the call that made it.
package bodyclose

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"strings"
)

// printWhole logs the response struct and forgets the body.
func printWhole(addr string) {
	reply, err := http.Get(addr) // want "body-not-closed"
	if err != nil {
		log.Print(err)
	}
	fmt.Println(reply)
}

// statusOnly reads the status line and nothing else.
func statusOnly(addr string) string {
	reply, err := http.Get(addr) // want "body-not-closed"
	if err != nil {
		return ""
	}
	return reply.Status
}

// bodyHandedToPrint prints the Body value itself: printing is not closing.
func bodyHandedToPrint(addr string) {
	reply, err := http.Get(addr) // want "body-not-closed"
	if err != nil {
		return
	}
	fmt.Println(reply.Body)
}

// blankResponse keeps only the error.
func blankResponse(addr string) error {
	_, err := http.Get(addr) // want "body-not-closed"
	return err
}

// callAsStatement drops both results.
func callAsStatement(addr string) {
	http.Get(addr) // want "body-not-closed"
}

// blankBoth drops both results by assignment.
func blankBoth(addr string) {
	_, _ = http.Head(addr) // want "body-not-closed"
}

// closerNeverInvoked builds a closing func literal and never calls it.
func closerNeverInvoked(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	shut := func() {
		reply.Body.Close()
	}
	_ = shut
}

// invokedCloserDoesNothing calls a func literal that does not close.
func invokedCloserDoesNothing(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	done := func() {
		log.Print("finished")
	}
	done()
	_ = reply
}

// literalTakesResponseButIgnoresIt passes the response to a no-op literal.
func literalTakesResponseButIgnoresIt(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	handle := func(r *http.Response) {
		_ = r.StatusCode
	}
	handle(reply)
}

// literalTakesBodyButIgnoresIt passes the Body to a no-op literal.
func literalTakesBodyButIgnoresIt(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	sink := func(rc io.ReadCloser) {
		_ = rc
	}
	sink(reply.Body)
}

// closingLiteralNotCalled defines a literal that would close, but it is never run.
func closingLiteralNotCalled(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	finish := func(r *http.Response) {
		r.Body.Close()
	}
	_ = finish
	_ = reply
}

func readerHelper(r *http.Response) []byte {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil
	}
	return data
}

// handedToReadingHelper gives the response to a helper that only reads.
func handedToReadingHelper(addr string) []byte {
	reply, err := http.Get(addr) // want "body-not-closed"
	if err != nil {
		return nil
	}
	return readerHelper(reply)
}

func ignoreStream(io.ReadCloser) {}

// handedToNoopHelper gives the Body to a helper that does nothing with it.
func handedToNoopHelper(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	ignoreStream(reply.Body)
}

// wrappedAndDropped limits the body and throws the wrapper away.
func wrappedAndDropped(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	_ = http.MaxBytesReader(nil, reply.Body, 4096)
}

func drainOnly(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, rc)
}

// deferredDrainWithoutClose defers a helper that drains but never closes.
func deferredDrainWithoutClose(addr string) {
	reply, err := http.Get(addr) // want "body-not-closed"
	if err != nil {
		return
	}
	defer drainOnly(reply.Body)
}

// deferredEmptyLiteral defers a literal that receives the Body and ignores it.
func deferredEmptyLiteral(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	defer func(rc io.ReadCloser) {}(reply.Body)
}

// closeOnlyOnFailureStatus closes inside one branch only.
func closeOnlyOnFailureStatus(addr string) {
	reply, _ := http.DefaultClient.Get(addr) // want "body-not-closed"
	if reply.StatusCode >= http.StatusBadRequest {
		defer reply.Body.Close()
	}
}

// closeInTwoOfThreeBranches has an if / else-if and no else.
func closeInTwoOfThreeBranches(addr string) {
	reply, _ := http.DefaultClient.Get(addr) // want "body-not-closed"
	if reply.StatusCode >= http.StatusInternalServerError {
		defer reply.Body.Close()
	} else if reply.StatusCode >= http.StatusBadRequest {
		defer reply.Body.Close()
	}
}

// touchedThroughBlank only silences the compiler.
func touchedThroughBlank(addr string) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	_ = reply
}

// fetchRaw is a local wrapper that returns the response to its caller.
func fetchRaw(addr string) (*http.Response, error) {
	return http.Get(addr)
}

// wrapperResultDropped calls the wrapper and drops the response.
func wrapperResultDropped(addr string) {
	_, _ = fetchRaw(addr) // want "body-not-closed"
}

// wrapperResultKeptOpen keeps the wrapper's response and never closes it.
func wrapperResultKeptOpen(addr string) int {
	reply, err := fetchRaw(addr) // want "body-not-closed"
	if err != nil {
		return 0
	}
	return reply.StatusCode
}

// postNeverClosed uses http.Post.
func postNeverClosed(addr string) error {
	reply, err := http.Post(addr, "text/plain", strings.NewReader("hi")) // want "body-not-closed"
	if err != nil {
		return err
	}
	log.Print(reply.Status)
	return nil
}

// postFormNeverClosed uses http.PostForm.
func postFormNeverClosed(addr string) (int, error) {
	reply, err := http.PostForm(addr, url.Values{"q": {"x"}}) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return reply.StatusCode, nil
}

// clientDoNeverClosed uses Client.Do with a request built here.
func clientDoNeverClosed(c *http.Client, addr string) (int, error) {
	req, err := http.NewRequest(http.MethodGet, addr, nil)
	if err != nil {
		return 0, err
	}
	reply, err := c.Do(req) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return reply.StatusCode, nil
}

// firstOfTwoLost reuses the variable: the first response is never closed.
func firstOfTwoLost(a, b string) {
	reply, err := http.Get(a) // want "body-not-closed"
	if err != nil {
		return
	}
	reply, err = http.Get(b)
	if err != nil {
		return
	}
	reply.Body.Close()
}

// insideLoop opens one response per iteration and closes none.
func insideLoop(addrs []string) int {
	ok := 0
	for _, a := range addrs {
		reply, err := http.Get(a) // want "body-not-closed"
		if err != nil {
			continue
		}
		if reply.StatusCode == http.StatusOK {
			ok++
		}
	}
	return ok
}

// genericNeverClosed is a generic function that forgets the body.
func genericNeverClosed[T any](addr string, tag T) {
	reply, _ := http.Get(addr) // want "body-not-closed"
	log.Print(tag, reply.Status)
}

type poller struct {
	hc *http.Client
}

// ping is a method that forgets the body of a client held in a field.
func (p *poller) ping(addr string) bool {
	reply, err := p.hc.Head(addr) // want "body-not-closed"
	if err != nil {
		return false
	}
	return reply.StatusCode < 300
}
