package body

import (
	"io"
	"net/http"
)

type fetcher struct {
	last *http.Response
}

// returnResp hands the response to the caller.
func returnResp(u string) (*http.Response, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// returnBody hands the body to the caller.
func returnBody(u string) (io.ReadCloser, error) {
	resp, err := http.Get(u)
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// storeResp keeps the response in a struct field.
func (f *fetcher) storeResp(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	f.last = resp
	return nil
}

// sendResp hands the response to a receiver.
func sendResp(u string, ch chan<- *http.Response) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	ch <- resp
	return nil
}

// goroutineCloses hands the body to a goroutine that closes it.
func goroutineCloses(u string, done chan<- []byte) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	go func() {
		defer resp.Body.Close()
		data, _ := io.ReadAll(resp.Body)
		done <- data
	}()
	return nil
}

// bodyToClosingHelper: drainBody closes its parameter.
func bodyToClosingHelper(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	return drainBody(resp.Body)
}

func drainBody(rc io.ReadCloser) error {
	_, err := io.Copy(io.Discard, rc)
	rc.Close()
	return err
}

// respToClosingHelper: closeResponse closes the body of its parameter.
func respToClosingHelper(u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	code := resp.StatusCode
	closeResponse(resp)
	return code, nil
}

func closeResponse(r *http.Response) {
	_ = r.Body.Close()
}

// unknownHandler: handle is unknown and may take ownership.
func unknownHandler(u string, handle func(*http.Response) error) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	return handle(resp)
}
