package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// maxSourceBytes bounds a document read from a URL.
const maxSourceBytes = 64 << 20

// sourceTimeout bounds fetching a document from a URL.
const sourceTimeout = 30 * time.Second

// isURL tells whether a document's source names an http or https URL
// rather than a file.
func isURL(source string) bool {
	return strings.HasPrefix(source, "http://") || strings.HasPrefix(source, "https://")
}

// readSource reads a document the run is given (a collection, its
// environment or globals, an OpenAPI document): a file, or an http or
// https URL fetched with GET, as Newman takes a collection's link and as
// surge serve publishes /openapi.json. A URL must answer 200 within
// sourceTimeout, with at most maxSourceBytes.
func readSource(ctx context.Context, source string) ([]byte, error) {
	if !isURL(source) {
		return os.ReadFile(source)
	}
	ctx, cancel := context.WithTimeout(ctx, sourceTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, source, nil)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", source, err)
	}
	req.Header.Set("Accept", "application/json, application/yaml;q=0.9, */*;q=0.5")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", source, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get %s: status %s", source, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxSourceBytes+1))
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", source, err)
	}
	if len(data) > maxSourceBytes {
		return nil, fmt.Errorf("get %s: more than %d bytes", source, maxSourceBytes)
	}
	return data, nil
}
