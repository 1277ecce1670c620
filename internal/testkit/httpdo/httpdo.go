// Package httpdo sends the tests' HTTP requests: one call with a method,
// a URL, a body (JSON-encoded unless a string) and header pairs, and back
// the status, header and whole body.
package httpdo

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// Client is the tests' HTTP client, with a bounded timeout.
var Client = &http.Client{Timeout: 10 * time.Second}

// Do sends a request with Client: body nil (none), a string (as it is) or
// any other value (as JSON, with Content-Type application/json), and the
// header pairs kv.
func Do(method, url string, body any, kv ...string) (int, http.Header, []byte, error) {
	var r io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		r = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return 0, nil, nil, err
		}
		r = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, url, r)
	if err != nil {
		return 0, nil, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	resp, err := Client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("read body: %w", err)
	}
	return resp.StatusCode, resp.Header, b, nil
}
