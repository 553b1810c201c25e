package httpresponse

import (
	"log"
	"net/http"
)

// checkedThenDeferred is the ordinary pattern.
func checkedThenDeferred(addr string) {
	r, err := http.Get(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Body.Close()
}

// clientCheckedThenDeferred is the client variant.
func clientCheckedThenDeferred(addr string) {
	hc := http.DefaultClient
	r, err := hc.Get(addr)
	if err != nil {
		log.Fatal(err)
	}
	defer r.Body.Close()
}

// helperChecksTheError unwraps through a helper that panics on error.
func helperChecksTheError() {
	must := func(r *http.Response, err error) *http.Response {
		if err != nil {
			panic(err)
		}
		return r
	}
	r := must(http.Get("https://example.com/"))
	defer r.Body.Close()
}

type embeddingClient[P any] struct {
	http.Client
}

// embeddedClientType: the client's type is not *http.Client by name.
func embeddedClientType(hc embeddingClient[string]) {
	r, _ := hc.Get("")
	defer r.Body.Close()
}

type getter[P any] interface {
	Get(addr string) (*P, error)
}

// userGetter: a user-defined interface, not an http client.
func userGetter(g getter[http.Response]) {
	r, _ := g.Get("https://example.com/")
	defer r.Body.Close()
}

type twoResults struct{}

func (*twoResults) Pair() (*int, int) { return nil, 1 }

// nonErrorPair calls a method with two non-error results as a statement.
func nonErrorPair() {
	var t *twoResults
	t.Pair()
}

// conditionalDeferOnSuccess defers only when the call succeeded.
func conditionalDeferOnSuccess(addr string) int {
	r, err := http.Get(addr)
	if err == nil {
		defer r.Body.Close()
		return r.StatusCode
	}
	return 0
}

// deferredOnOtherValue defers on a response checked earlier.
func deferredOnOtherValue(a, b string) error {
	first, err := http.Get(a)
	if err != nil {
		return err
	}
	second, err := http.Get(b)
	defer first.Body.Close()
	if err != nil {
		return err
	}
	return second.Body.Close()
}
