// Package listen is what every HTTP listener of surge is served with: the
// API, the admin listener, Lambda's Invoke API and Runtime API, the read
// cache shared with the function instances, and the table's front of the
// DynamoDB API that they reach a local engine through. It sets the timeouts
// and limits of an http.Server (Limits), and guards each connection
// against what net/http lets through (Server, Listen):
//
//   - a request with both Content-Length and Transfer-Encoding (RFC 9112,
//     6.1: a server must close the connection after answering it, else
//     the bytes after the chunked body are read as a second request, the
//     way requests are smuggled past a front that trusts Content-Length)
//     is answered 400 and its connection closed. net/http drops the
//     Content-Length of such a request before a handler sees it, so the
//     connection's bytes are watched for the two headers in one header
//     block (see conn);
//   - a Transfer-Encoding other than chunked is answered 501 and its
//     connection closed, by net/http itself;
//   - a request with more header fields than the limit is answered 431;
//   - a request whose declared body is over the limit is answered 413
//     before any of the body is read (and, for Expect: 100-continue,
//     without 100 Continue); a chunked body is cut at the limit.
package listen

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Limits are an HTTP listener's timeouts and size limits. A zero field
// leaves net/http's default (no timeout, no limit), which only a listener
// with a reason to (the Runtime API's long poll) should do.
type Limits struct {
	// ReadHeaderTimeout bounds the reading of a request's headers: a
	// client that sends its headers slowly is cut off.
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds the reading of a whole request, headers and body.
	ReadTimeout time.Duration
	// WriteTimeout bounds the time from the end of the request's headers
	// to the end of the response.
	WriteTimeout time.Duration
	// IdleTimeout bounds how long a kept-alive connection waits for its
	// next request.
	IdleTimeout time.Duration
	// MaxHeaderBytes bounds the request line and headers.
	MaxHeaderBytes int
	// MaxHeaders bounds the number of header fields (lines).
	MaxHeaders int
	// MaxBodyBytes bounds a request's body; 0 leaves it to the handler.
	MaxBodyBytes int64
}

// Server returns an http.Server of h with the limits, whose connections
// are guarded as the package documentation says. Serve it on a listener
// from Listen (or Wrap), which watches the connections' bytes; on another
// listener the guard against Content-Length with Transfer-Encoding is off.
func (l Limits) Server(h http.Handler, log *slog.Logger) *http.Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           l.Guard(h),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		ReadTimeout:       l.ReadTimeout,
		WriteTimeout:      l.WriteTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ConnState:         trackState,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			if gc, ok := c.(*conn); ok {
				return context.WithValue(ctx, connKey{}, gc)
			}
			return ctx
		},
	}
}

type connKey struct{}

// Guard returns h behind the per-request checks of the limits.
func (l Limits) Guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, _ := r.Context().Value(connKey{}).(*conn); c != nil && c.smuggling.Load() {
			refuse(w, http.StatusBadRequest, "A request has both Content-Length and Transfer-Encoding.")
			return
		}
		if l.MaxHeaders > 0 && headerCount(r.Header) > l.MaxHeaders {
			refuse(w, http.StatusRequestHeaderFieldsTooLarge, "The request has over "+strconv.Itoa(l.MaxHeaders)+" header fields.")
			return
		}
		if l.MaxBodyBytes > 0 {
			if r.ContentLength > l.MaxBodyBytes {
				// Before any of the body is read: net/http sends no 100
				// Continue to a client that waits for one.
				refuse(w, http.StatusRequestEntityTooLarge, "The request body is over "+strconv.FormatInt(l.MaxBodyBytes, 10)+" bytes.")
				return
			}
			if r.ContentLength < 0 {
				r.Body = http.MaxBytesReader(w, r.Body, l.MaxBodyBytes)
			}
		}
		h.ServeHTTP(w, r)
	})
}

// refuse answers a request that is not served, in the items API's error
// form, and closes the connection: what follows on it cannot be trusted
// to be a request of its own.
func refuse(w http.ResponseWriter, status int, msg string) {
	code := map[int]string{
		http.StatusBadRequest:                  "invalid",
		http.StatusRequestEntityTooLarge:       "too_large",
		http.StatusRequestHeaderFieldsTooLarge: "invalid",
	}[status]
	h := w.Header()
	h.Set("Connection", "close")
	h.Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"code":%q,"message":%q}`+"\n", code, msg)
}

func headerCount(h http.Header) int {
	n := 0
	for _, vs := range h {
		n += len(vs)
	}
	return n
}

// Listen listens on the TCP address and watches its connections (see
// Wrap).
func Listen(addr string) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Wrap(ln), nil
}

// Wrap returns ln with each connection's bytes watched for a header block
// with both Content-Length and Transfer-Encoding, which Server's guard
// then refuses.
func Wrap(ln net.Listener) net.Listener { return &listener{ln} }

type listener struct{ net.Listener }

func (l *listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &conn{Conn: c}, nil
}

// IsLoopback reports whether a listen address names only the loopback
// interface: 127.0.0.0/8, ::1 or localhost. An empty host (":8080"), a
// wildcard (0.0.0.0, ::) or any other name is not.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// WarnUnlessLoopback logs a warning when addr, the address of the listener
// named what, is not loopback only: every listener but the API's is meant
// for this machine, and says so when told otherwise.
func WarnUnlessLoopback(log *slog.Logger, what, addr, trusts string) {
	if addr == "" || IsLoopback(addr) {
		return
	}
	log.Warn(what+" listens beyond loopback", "addr", addr, "trusts", trusts,
		"hint", "it is meant for this machine only; bind it to 127.0.0.1 unless a firewall keeps others out")
}
