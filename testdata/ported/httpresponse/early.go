// Package httpresponse ports the shapes of go vet's httpresponse testdata
// (golang.org/x/tools/go/analysis/passes/httpresponse): a defer on the response
// placed right after the call, before its error is checked, is reported at the
// defer.
package httpresponse

import (
	"log"
	"net/http"
	"net/url"
	"strings"
)

// pkgGet defers on the response of http.Get before the check.
func pkgGet(addr string) {
	r, err := http.Get(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// pkgHead is the Head variant.
func pkgHead(addr string) {
	r, err := http.Head(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// pkgPost is the Post variant.
func pkgPost(addr string) error {
	r, err := http.Post(addr, "text/plain", strings.NewReader("x"))
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// pkgPostForm is the PostForm variant.
func pkgPostForm(addr string) error {
	r, err := http.PostForm(addr, url.Values{})
	defer r.Body.Close() // want "defer-before-err-check"
	return err
}

// defaultClientPtrGet uses a pointer client taken from DefaultClient.
func defaultClientPtrGet(addr string) {
	hc := http.DefaultClient
	r, err := hc.Get(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// valueClientGet uses a client value.
func valueClientGet(addr string) {
	hc := http.Client{}
	r, err := hc.Get(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// defaultClientPtrDo builds a request and defers before checking Do.
func defaultClientPtrDo(addr string) {
	hc := http.DefaultClient
	req, err := http.NewRequest(http.MethodGet, addr, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := hc.Do(req)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// varClientDo declares the client with var.
func varClientDo(addr string) {
	var hc http.Client
	req, err := http.NewRequest(http.MethodGet, addr, nil)
	if err != nil {
		log.Fatal(err)
	}
	r, err := hc.Do(req)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// nestedCallInArgument: the inner call is checked by a helper, the outer one is not.
func nestedCallInArgument() {
	follow := func(r *http.Response, err error) string {
		if err != nil {
			panic(err)
		}
		return r.Header.Get("Location")
	}
	r, err := http.Get(follow(http.Get("https://example.com/")))
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

// genericGet defers early inside a generic function.
func genericGet[T any](addr string) {
	r, err := http.Get(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		log.Fatal(err)
	}
}

func makeClient[T any]() *T {
	return new(T)
}

// genericClientErrDiscarded drops the error and defers at once.
func genericClientErrDiscarded() {
	hc := makeClient[http.Client]()
	r, _ := hc.Get("https://example.com/")
	defer r.Body.Close() // want "defer-before-err-check"
}

// directDefaultClient calls DefaultClient without a local.
func directDefaultClient(addr string) error {
	r, err := http.DefaultClient.Get(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	return err
}

// clientHead uses a parameter client's Head.
func clientHead(hc *http.Client, addr string) error {
	r, err := hc.Head(addr)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// clientPostForm uses a parameter client's PostForm.
func clientPostForm(hc *http.Client, addr string) error {
	r, err := hc.PostForm(addr, url.Values{"a": {"b"}})
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

// reassignedGet reuses variables declared earlier.
func reassignedGet(a, b string) error {
	r, err := http.Get(a)
	if err != nil {
		return err
	}
	defer r.Body.Close()
	r, err = http.Get(b)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}

type fetcher struct {
	hc *http.Client
}

// fieldClientPost uses a client held in a struct field.
func (f *fetcher) fieldClientPost(addr string) error {
	r, err := f.hc.Post(addr, "application/json", nil)
	defer r.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return err
	}
	return nil
}
