package server_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/observe/logbuf"
	"github.com/surgehq/surge/internal/server"
)

// benchServer is the Server that `surge serve` runs with its default
// settings (its access log on, written as the command writes it, to a
// discarded stream), over a fresh SQLite file.
func benchServer(b *testing.B, edit func(*server.Config)) http.Handler {
	b.Helper()
	cfg := server.DefaultConfig()
	cfg.Addr, cfg.AdminAddr, cfg.Data = "127.0.0.1:0", "", b.TempDir()
	log, flush := logbuf.NewLogger(io.Discard, false, 0)
	b.Cleanup(flush)
	cfg.Log = log
	if edit != nil {
		edit(&cfg)
	}
	s, err := server.New(context.Background(), cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	return s.Handler()
}

// serveOne runs one request through h in process and fails on an
// unexpected status.
func serveOne(b *testing.B, h http.Handler, method, target, body string, want int) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	r := httptest.NewRequest(method, target, rd)
	r.RemoteAddr = "127.0.0.1:40000"
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != want {
		b.Fatalf("%s %s: %d %s", method, target, w.Code, w.Body)
	}
}

// BenchmarkServeGet is GET /items/{id} through the whole chain `surge
// serve` runs (limits, request ids, Server-Timing, access log, metrics,
// admission, the items API, the table's accounting and SQLite), in
// process: what a request costs the server apart from its socket.
func BenchmarkServeGet(b *testing.B) {
	h := benchServer(b, nil)
	const n = 1000
	body := `{"name":"item","price":12.5,"note":"` + strings.Repeat("x", 60) + `"}`
	for i := 0; i < n; i += 25 {
		var ops []string
		for j := i; j < i+25; j++ {
			ops = append(ops, `{"op":"create","id":"b`+strconv.Itoa(j)+`","item":`+body+`}`)
		}
		serveOne(b, h, http.MethodPost, "/items/_batch", `{"operations":[`+strings.Join(ops, ",")+`]}`, http.StatusOK)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		serveOne(b, h, http.MethodGet, "/items/b"+strconv.Itoa(i%n), "", http.StatusOK)
	}
}

// BenchmarkServePost is POST /items through the same chain, with
// --sync normal.
func BenchmarkServePost(b *testing.B) {
	h := benchServer(b, func(c *server.Config) { c.Sync = "normal" })
	body := `{"name":"item","price":12.5,"note":"` + strings.Repeat("x", 60) + `"}`
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		serveOne(b, h, http.MethodPost, "/items", body, http.StatusCreated)
	}
}
