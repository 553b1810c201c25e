package body

import (
	"fmt"
	"io"
	"log"
	"net/http"
)

// deferBodyClose is the canonical pattern.
func deferBodyClose(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	return io.ReadAll(resp.Body)
}

// deferClosureWithArg passes the body to a deferred func literal.
func deferClosureWithArg(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer func(b io.ReadCloser) {
		b.Close()
	}(resp.Body)
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// deferClosureNamedResult closes in a deferred closure and keeps the error.
func deferClosureNamedResult(u string) (err error) {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := resp.Body.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// readAllThenClose closes right after reading, before checking the error.
func readAllThenClose(u string) ([]byte, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	return data, nil
}

// closeOnEveryBranch closes explicitly on each path.
func closeOnEveryBranch(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return err
}

// clientDoClosed uses Do on a parameter client.
func clientDoClosed(c *http.Client, req *http.Request) (int, error) {
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// defaultClientHeadClosed uses http.DefaultClient.Head.
func defaultClientHeadClosed(u string) (int, error) {
	resp, err := http.DefaultClient.Head(u)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	return resp.StatusCode, nil
}

// postClosedByErrCheck closes via `if err := ...Close(); err != nil`.
func postClosedByErrCheck(u string, payload io.Reader) error {
	resp, err := http.Post(u, "text/plain", payload)
	if err != nil {
		return err
	}
	if err := resp.Body.Close(); err != nil {
		return err
	}
	return nil
}

// fatalPathNotALeak: the unclosed path ends in log.Fatalf.
func fatalPathNotALeak(u string) {
	resp, err := http.Get(u)
	if err != nil {
		log.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		log.Fatalf("status %d", resp.StatusCode)
	}
	resp.Body.Close()
}

// loopClosed closes each body inside the loop.
func loopClosed(urls []string) int {
	ok := 0
	for _, u := range urls {
		resp, err := http.Get(u)
		if err != nil {
			continue
		}
		if resp.StatusCode == http.StatusOK {
			ok++
		}
		resp.Body.Close()
	}
	return ok
}
