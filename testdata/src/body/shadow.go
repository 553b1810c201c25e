package body

import (
	"io"
	"net/http"
	"strings"
)

// fakeHTTP and fakeResp stand in for unknown third-party types.
type fakeHTTP struct{}

type fakeResp struct {
	StatusCode int
	Body       io.ReadCloser
}

func (fakeHTTP) Get(u string) (*fakeResp, error) {
	return &fakeResp{Body: io.NopCloser(strings.NewReader(u))}, nil
}

// shadowedHTTPLocal: the local named http hides net/http.
func shadowedHTTPLocal(u string) (int, error) {
	http := fakeHTTP{}
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// shadowedHTTPParam: a parameter named http hides net/http.
func shadowedHTTPParam(http fakeHTTP, u string) (int, error) {
	resp, err := http.Get(u)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// unknownClientType: the receiver is not a *http.Client.
func unknownClientType(c fakeHTTP, u string) (int, error) {
	resp, err := c.Get(u)
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// realGetClosed keeps the net/http import in use.
func realGetClosed(u string) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
