package deferorder

import "net/http"

// roundTrip defers Body.Close, rooted at resp, before the check.
func roundTrip(tr *http.Transport, req *http.Request) (int, error) {
	resp, err := tr.RoundTrip(req)
	defer resp.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func fetch(c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return c.Transport.RoundTrip(req)
}

// helperResponse gets the response from a same-package helper.
func helperResponse(c *http.Client, u string) (string, error) {
	res, err := fetch(c, u)
	defer res.Body.Close() // want "defer-before-err-check"
	if err != nil {
		return "", err
	}
	return res.Status, nil
}
