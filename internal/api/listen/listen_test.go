package listen_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/listen"
	"github.com/surgehq/surge/internal/testkit/rawhttp"
)

// served is a guarded server of a handler that records the requests it
// sees and reads their bodies.
type served struct {
	addr string
	mu   sync.Mutex
	seen []string
	errs []error
}

func (s *served) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.seen...)
}

func serve(t *testing.T, l listen.Limits) *served {
	t.Helper()
	s := &served{}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, err := io.Copy(io.Discard, r.Body)
		s.mu.Lock()
		s.seen = append(s.seen, r.Method+" "+r.URL.Path)
		s.errs = append(s.errs, err)
		s.mu.Unlock()
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		case err != nil:
			w.WriteHeader(http.StatusBadRequest)
		default:
			fmt.Fprint(w, "ok")
		}
	})
	ln, err := listen.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := l.Server(h, nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	s.addr = ln.Addr().String()
	return s
}

var limits = listen.Limits{
	ReadHeaderTimeout: 200 * time.Millisecond,
	ReadTimeout:       400 * time.Millisecond,
	WriteTimeout:      5 * time.Second,
	IdleTimeout:       300 * time.Millisecond,
	MaxHeaderBytes:    4 << 10,
	MaxHeaders:        20,
	MaxBodyBytes:      1 << 10,
}

// TestSmuggledRequest sends a request with both Content-Length and
// Transfer-Encoding whose chunked body ends early, followed by a DELETE
// that a front trusting Content-Length would take for part of the body:
// the server must answer the first and close the connection, never
// running the DELETE.
func TestSmuggledRequest(t *testing.T) {
	for _, c := range []struct {
		name, head string
	}{
		{"ContentLengthFirst", "Content-Length: 40\r\nTransfer-Encoding: chunked\r\n"},
		{"TransferEncodingFirst", "Transfer-Encoding: chunked\r\nContent-Length: 40\r\n"},
		{"LowerCase", "content-length: 40\r\ntransfer-encoding: chunked\r\n"},
		{"BareLineFeeds", "Content-Length: 40\nTransfer-Encoding: chunked\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, limits)
			conn := rawhttp.Dial(t, s.addr)
			conn.Send("POST /first HTTP/1.1\r\nHost: x\r\n" + c.head + "\r\n0\r\n\r\n" +
				"DELETE /smuggled HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
			res := conn.Response()
			if res.Status != 400 || res.Header.Get("Connection") != "close" {
				t.Fatalf("got %d %v, want 400 and Connection: close", res.Status, res.Header)
			}
			conn.WantClosed()
			for _, r := range s.requests() {
				if r == "DELETE /smuggled" {
					t.Fatal("the smuggled DELETE was run")
				}
			}
		})
	}
}

// TestTransferEncodingNotHonoured: every Transfer-Encoding but chunked is
// answered 501, and the connection closed (net/http's own refusal).
func TestTransferEncodingNotHonoured(t *testing.T) {
	for _, te := range []string{"gzip, chunked", "identity", "chunked, chunked", "compress"} {
		t.Run(te, func(t *testing.T) {
			s := serve(t, limits)
			conn := rawhttp.Dial(t, s.addr)
			conn.Send("POST /x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + "\r\n\r\n0\r\n\r\nGET /after HTTP/1.1\r\nHost: x\r\n\r\n")
			if res := conn.Response(); res.Status != 501 {
				t.Fatalf("got %d, want 501", res.Status)
			}
			conn.WantClosed()
			if got := s.requests(); len(got) != 0 {
				t.Fatalf("the handler saw %v", got)
			}
		})
	}
}

func TestChunkedAloneIsServed(t *testing.T) {
	s := serve(t, limits)
	conn := rawhttp.Dial(t, s.addr)
	conn.Send("POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n")
	for _, want := range []int{200, 200} {
		if res := conn.Response(); res.Status != want {
			t.Fatalf("got %d, want %d", res.Status, want)
		}
	}
	if got := s.requests(); strings.Join(got, ",") != "POST /a,GET /b" {
		t.Fatalf("the handler saw %v", got)
	}
}

func TestHeaderLimits(t *testing.T) {
	s := serve(t, limits)
	var many strings.Builder
	for i := range limits.MaxHeaders + 1 {
		fmt.Fprintf(&many, "X-H%d: v\r\n", i)
	}
	conn := rawhttp.Dial(t, s.addr)
	conn.Send("GET /many HTTP/1.1\r\nHost: x\r\n" + many.String() + "\r\n")
	if res := conn.Response(); res.Status != 431 {
		t.Fatalf("%d header fields: got %d, want 431", limits.MaxHeaders+1, res.Status)
	}
	conn.WantClosed()
	conn = rawhttp.Dial(t, s.addr)
	conn.Send("GET /big HTTP/1.1\r\nHost: x\r\nX-Big: " + strings.Repeat("b", limits.MaxHeaderBytes+4096) + "\r\n\r\n")
	if res := conn.Response(); res.Status != 431 {
		t.Fatalf("headers over %d bytes: got %d, want 431", limits.MaxHeaderBytes, res.Status)
	}
	if got := s.requests(); len(got) != 0 {
		t.Fatalf("the handler saw %v", got)
	}
}

// TestBodyLimitBeforeReading: a declared body over the limit is refused
// before any of it is sent, and a client waiting for 100 Continue gets
// none.
func TestBodyLimitBeforeReading(t *testing.T) {
	s := serve(t, limits)
	conn := rawhttp.Dial(t, s.addr)
	conn.Send(fmt.Sprintf("PUT /big HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n", 10<<20))
	res := conn.Response() // no byte of the body was sent
	if res.Status != 413 {
		t.Fatalf("got %d, want 413 (a 100 Continue first is wrong too)", res.Status)
	}
	conn.WantClosed()
	// Within the limit, the client gets 100 Continue and is served.
	conn = rawhttp.Dial(t, s.addr)
	conn.Send("PUT /small HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n")
	if res := conn.Response(); res.Status != 100 {
		t.Fatalf("within the limit: got %d, want 100 Continue", res.Status)
	}
	conn.Send("abc")
	if res := conn.Response(); res.Status != 200 {
		t.Fatalf("within the limit: got %d, want 200", res.Status)
	}
	// A chunked body is cut at the limit.
	conn = rawhttp.Dial(t, s.addr)
	chunk := strings.Repeat("c", 1000)
	conn.Send(fmt.Sprintf("PUT /chunked HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n%x\r\n%s\r\n0\r\n\r\n", len(chunk), chunk, len(chunk), chunk))
	if res := conn.Response(); res.Status != 413 {
		t.Fatalf("a chunked body over the limit: got %d, want 413", res.Status)
	}
}

// TestSlowClients: a client that sends its headers or its body too slowly
// is cut off, and so is one that keeps an idle connection.
func TestSlowClients(t *testing.T) {
	s := serve(t, limits)
	t.Run("SlowHeaders", func(t *testing.T) {
		conn := rawhttp.Dial(t, s.addr)
		conn.Send("GET /slow HTTP/1.1\r\nHost: x\r\n") // and never the end
		conn.WantClosed()
	})
	t.Run("SlowBody", func(t *testing.T) {
		conn := rawhttp.Dial(t, s.addr)
		conn.Send("PUT /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789") // 90 bytes short
		conn.WantClosed()
	})
	t.Run("Idle", func(t *testing.T) {
		conn := rawhttp.Dial(t, s.addr)
		conn.Send("GET /once HTTP/1.1\r\nHost: x\r\n\r\n")
		if res := conn.Response(); res.Status != 200 {
			t.Fatalf("got %d", res.Status)
		}
		conn.WantClosed()
	})
}

func TestIsLoopback(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1:9090": true, "127.0.0.2:1": true, "[::1]:80": true, "localhost:80": true,
		":9090": false, "0.0.0.0:9090": false, "[::]:80": false, "10.0.0.1:80": false, "example.com:80": false, "nonsense": false,
	} {
		if got := listen.IsLoopback(addr); got != want {
			t.Errorf("%q: got %v, want %v", addr, got, want)
		}
	}
}
