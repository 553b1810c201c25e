package body

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"time"
)

type apiClient struct {
	client *http.Client
	base   string
}

var sharedClient = &http.Client{Timeout: 5 * time.Second}

// localClientDo uses Do on a client built in the same function.
func localClientDo(ctx context.Context, u string) (int, error) {
	c := &http.Client{Timeout: time.Second}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// paramClientGet uses Get on a *http.Client parameter.
func paramClientGet(c *http.Client, u string) (string, error) {
	resp, err := c.Get(u) // want "body-not-closed"
	if err != nil {
		return "", err
	}
	return resp.Status, nil
}

// defaultClientGet uses http.DefaultClient.
func defaultClientGet(u string) (string, error) {
	resp, err := http.DefaultClient.Get(u) // want "body-not-closed"
	if err != nil {
		return "", err
	}
	return resp.Status, nil
}

// defaultClientDo uses http.DefaultClient.Do.
func defaultClientDo(req *http.Request) (int, error) {
	resp, err := http.DefaultClient.Do(req) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// fieldClientPost uses a *http.Client stored in a struct field.
func (a *apiClient) fieldClientPost(path, payload string) (int, error) {
	resp, err := a.client.Post(a.base+path, "text/plain", strings.NewReader(payload)) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// fieldClientHead uses Head on a field client.
func (a *apiClient) fieldClientHead(path string) (int, error) {
	resp, err := a.client.Head(a.base + path) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// globalClientPostForm uses PostForm on a package-level client.
func globalClientPostForm(u string, v url.Values) (int, error) {
	resp, err := sharedClient.PostForm(u, v) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// valueClientGet calls Get on an addressable http.Client value.
func valueClientGet(u string) (int, error) {
	var c http.Client
	resp, err := c.Get(u) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}
