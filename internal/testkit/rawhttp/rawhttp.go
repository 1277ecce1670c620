// Package rawhttp is an HTTP/1.1 client over a raw TCP connection, for
// tests that send what a well-behaved client would not (two framings, a
// slow body, a header that never ends) and look at what the server does
// with the connection.
package rawhttp

import (
	"bufio"
	"errors"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Wait bounds how long a test waits for an answer or for the server to
// close the connection; a server that does neither fails the test then.
const Wait = 10 * time.Second

// Conn is a raw connection to a server.
type Conn struct {
	t  testing.TB
	c  net.Conn
	br *bufio.Reader
}

// Dial connects to addr; the connection is closed when t ends.
func Dial(t testing.TB, addr string) *Conn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, Wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Conn{t: t, c: c, br: bufio.NewReader(c)}
}

// Send writes s as it is.
func (c *Conn) Send(s string) {
	c.t.Helper()
	c.c.SetWriteDeadline(time.Now().Add(Wait))
	if _, err := io.WriteString(c.c, s); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

// Response is an answer read from the connection.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Response reads one response: an interim one (100 Continue) has no
// body; a final one's body is read by its Content-Length or chunks.
func (c *Conn) Response() *Response {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(Wait))
	tp := textproto.NewReader(c.br)
	line, err := tp.ReadLine()
	if err != nil {
		c.t.Fatalf("read a status line: %v", err)
	}
	parts := strings.SplitN(line, " ", 3)
	if len(parts) < 2 || !strings.HasPrefix(parts[0], "HTTP/1.") {
		c.t.Fatalf("not a status line: %q", line)
	}
	status, err := strconv.Atoi(parts[1])
	if err != nil {
		c.t.Fatalf("status line %q: %v", line, err)
	}
	mh, err := tp.ReadMIMEHeader()
	if err != nil {
		c.t.Fatalf("read headers: %v", err)
	}
	res := &Response{Status: status, Header: http.Header(mh)}
	if status < 200 || status == 204 || status == 304 {
		return res
	}
	var body io.Reader
	untilClose := false
	switch {
	case res.Header.Get("Transfer-Encoding") == "chunked":
		body = readChunked(c.br)
	case res.Header.Get("Content-Length") != "":
		n, _ := strconv.ParseInt(res.Header.Get("Content-Length"), 10, 64)
		body = io.LimitReader(c.br, n)
	default:
		body, untilClose = c.br, true // until the server closes
	}
	// A body that ends with the connection may end with a reset, when the
	// server closes on bytes the client sent that it did not read.
	if res.Body, err = io.ReadAll(body); err != nil && !untilClose {
		c.t.Fatalf("read a body: %v", err)
	}
	return res
}

// WantClosed reads (and drops) what the server still sends until it
// closes the connection, and fails the test if it has not within Wait.
func (c *Conn) WantClosed() {
	c.t.Helper()
	c.c.SetReadDeadline(time.Now().Add(Wait))
	_, err := io.Copy(io.Discard, c.br)
	var ne net.Error
	if errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		c.t.Fatalf("the server did not close the connection within %v", Wait)
	}
}

// readChunked reads a chunked body.
func readChunked(br *bufio.Reader) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		tp := textproto.NewReader(br)
		for {
			line, err := tp.ReadLine()
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			size, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(line, ";", 2)[0]), 16, 64)
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if size == 0 {
				for {
					l, err := tp.ReadLine()
					if err != nil || l == "" {
						break
					}
				}
				pw.Close()
				return
			}
			if _, err := io.CopyN(pw, br, size); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := tp.ReadLine(); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return pr
}
