package body

import (
	"net/http"
	"net/http/httptest"
)

// recorderResult: httptest recorder results are not tracked.
func recorderResult(h http.Handler) int {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	h.ServeHTTP(rec, req)
	resp := rec.Result()
	return resp.StatusCode
}

// recorderResultBody reads the recorder body without closing it.
func recorderResultBody(h http.Handler) (string, error) {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	res := rec.Result()
	buf := make([]byte, 64)
	n, err := res.Body.Read(buf)
	return string(buf[:n]), err
}
