package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/server"
)

// benchChain builds surge serve's production chain (server.New) over a
// memory store, with the serve flags args, and returns its Handler.
func benchChain(b *testing.B, args ...string) http.Handler {
	b.Helper()
	r := newRoot(io.Discard, io.Discard)
	fs := ff.NewFlagSet("bench")
	c := newServeFlags(fs)
	if err := fs.Parse(args); err != nil {
		b.Fatal(err)
	}
	if err := c.applyConfigFiles(fs); err != nil {
		b.Fatal(err)
	}
	cfg := c.config(r)
	cfg.Addr, cfg.AdminAddr, cfg.Store = "127.0.0.1:0", "", "mem:"
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s.Handler()
}

// BenchmarkChain measures a request through surge serve's whole chain,
// without the network: bare (the defaults), the --optimized preset, and
// everything on (the preset, API keys with a usage plan, tracing of every
// request to an OTLP endpoint on loopback).
//
//	go test -run '^$' -bench Chain -benchmem ./cmd/surge
func BenchmarkChain(b *testing.B) {
	otlp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.Copy(io.Discard, r.Body) }))
	b.Cleanup(otlp.Close) // after the chains' cleanups, which flush spans to it
	// Limits no benchmark reaches, so that every request is checked and
	// none is refused.
	keys := writeFile(&testing.T{}, "keys.yaml", `
plans:
  basic: {rate: 1000000000, burst: 1000000000, quota: 1000000000000}
keys:
  "alpha-key-0123456789abcdef": {tenant: alpha, plan: basic}
`)
	all := []string{"--optimized", "--auth-keys", keys, "--cache-require-authorization=false",
		"--throttle-stage-rate", "1e9", "--throttle-stage-burst", "1000000000",
		"--throttle-account-rate", "1e9", "--throttle-account-burst", "1000000000",
		"--trace-endpoint", otlp.URL + "/v1/traces"}
	key := []string{"X-Api-Key", "alpha-key-0123456789abcdef"}
	for _, cfg := range []struct {
		name string
		args []string
		hdr  []string
	}{
		{"bare", nil, nil},
		// The preset alone: response cache, throttling, read cache, ETags.
		{"optimized", []string{"--optimized", "--cache-require-authorization=false",
			"--throttle-stage-rate", "1e9", "--throttle-stage-burst", "1000000000",
			"--throttle-account-rate", "1e9", "--throttle-account-burst", "1000000000"}, nil},
		{"all", all, key},
	} {
		h := benchChain(b, cfg.args...)
		send := func(method, target, body string, kv ...string) *httptest.ResponseRecorder {
			var r io.Reader
			if body != "" {
				r = strings.NewReader(body)
			}
			req := httptest.NewRequest(method, target, r)
			req.Header.Set("Content-Type", "application/json")
			for i := 0; i+1 < len(kv); i += 2 {
				req.Header.Set(kv[i], kv[i+1])
			}
			for i := 0; i+1 < len(cfg.hdr); i += 2 {
				req.Header.Set(cfg.hdr[i], cfg.hdr[i+1])
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			return w
		}
		if w := send("POST", "/items", `{"id":"b1","name":"widget","price":12.5}`); w.Code != 201 {
			b.Fatalf("%s: seed: %d %s", cfg.name, w.Code, w.Body)
		}
		bench := func(name string, method, target, body string, want int, kv ...string) {
			b.Run(cfg.name+"/"+name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if w := send(method, target, body, kv...); w.Code != want {
						b.Fatalf("got %d %s", w.Code, w.Body)
					}
				}
			})
		}
		bench("get", "GET", "/items/b1", "", 200)
		// Past the response cache (an allowed invalidation), through the
		// read cache.
		bench("get-uncached", "GET", "/items/b1", "", 200, "Cache-Control", "max-age=0")
		bench("list", "GET", "/items?limit=10", "", 200)
		bench("put", "PUT", "/items/b1", `{"name":"widget","price":13}`, 200)
	}
}
