package body

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
)

// getNeverClosed never closes the body.
func getNeverClosed(u string) (int, error) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// statusCheckLeaks returns on a bad status before the defer is registered.
func statusCheckLeaks(u string) ([]byte, error) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("unexpected status %d", resp.StatusCode)
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// readErrorLeaks closes only when ReadAll succeeds.
func readErrorLeaks(u string) ([]byte, error) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	return data, nil
}

// postNeverClosed uses http.Post.
func postNeverClosed(u string, payload io.Reader) error {
	resp, err := http.Post(u, "application/json", payload) // want "body-not-closed"
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 {
		return errors.New("post failed")
	}
	return nil
}

// postFormNeverClosed uses http.PostForm.
func postFormNeverClosed(u string, form url.Values) (string, error) {
	resp, err := http.PostForm(u, form) // want "body-not-closed"
	if err != nil {
		return "", err
	}
	return resp.Status, nil
}

// headNeverClosed uses http.Head.
func headNeverClosed(u string) (int64, error) {
	resp, err := http.Head(u) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.ContentLength, nil
}

// decodedNotClosed: json.NewDecoder does not take ownership of the body.
func decodedNotClosed(u string, v any) error {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return err
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// copiedNotClosed: io.Copy does not take ownership; variable is named r.
func copiedNotClosed(u string) error {
	r, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return err
	}
	_, err = io.Copy(os.Stdout, r.Body)
	return err
}

// fatalOnErrNotClosed: the error branch ends in log.Fatalf.
func fatalOnErrNotClosed(u string) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		log.Fatalf("get: %v", err)
	}
	fmt.Println(resp.Status)
}

// exitOnErrNotClosed: the error branch ends in os.Exit.
func exitOnErrNotClosed(u string) int {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	return resp.StatusCode
}

// testServerLeak: a real request against an httptest server is tracked.
func testServerLeak(h http.Handler) (int, error) {
	srv := httptest.NewServer(h)
	defer srv.Close()
	resp, err := http.Get(srv.URL) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// passedToNonClosingHelper: statusOf does not close, so no transfer.
func passedToNonClosingHelper(u string) (int, error) {
	resp, err := http.Get(u) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return statusOf(resp), nil
}

func statusOf(r *http.Response) int {
	return r.StatusCode
}
