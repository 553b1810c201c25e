package body

import nethttp "net/http"

// aliasedGet uses net/http imported under another name.
func aliasedGet(u string) (int, error) {
	resp, err := nethttp.Get(u) // want "body-not-closed"
	if err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

// aliasedClientClosed is fine.
func aliasedClientClosed(c *nethttp.Client, u string) error {
	resp, err := c.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return nil
}
