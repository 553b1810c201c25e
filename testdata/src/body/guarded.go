package body

import (
	"io"
	"net/http"
)

// guardedBeforeCheck: net/http's own idiom, the body closed behind a nil check before the
// error check.
func guardedBeforeCheck(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if resp != nil && resp.Body != nil {
		defer resp.Body.Close()
	}
	if err != nil {
		return nil, err
	}
	return io.ReadAll(resp.Body)
}

// guardedAfterCheck: a redundant nil check of the body after the error check.
func guardedAfterCheck(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	if resp.Body != nil {
		defer resp.Body.Close()
	}
	return io.ReadAll(resp.Body)
}

// guardOnTheWrongValue: a nil check of something else does not guard the body.
func guardOnTheWrongValue(u string, other *http.Response) (int, error) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	if other != nil {
		defer resp.Body.Close()
	}
	return resp.StatusCode, nil
}
