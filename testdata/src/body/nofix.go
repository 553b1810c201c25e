package body

import (
	"fmt"
	"net/http"
)

// discardedResponse throws the response away: its body is closed right after the call.
func discardedResponse(u string) error {
	_, err := http.Get(u) // want "body-not-closed"
	return err
}

// pingAll acquires inside a loop: reported, closed at the end of the iteration.
func pingAll(urls []string) int {
	ok := 0
	for _, u := range urls {
		resp, err := http.Get(u) // want "body-not-closed"
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusOK {
			ok++
		}
	}
	return ok
}

// returnedOnlyOnSuccess transfers on one path and leaks on another:
// reported, no fix.
func returnedOnlyOnSuccess(u string) (*http.Response, error) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %s", resp.Status)
	}
	return resp, nil
}
