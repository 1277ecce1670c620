package load

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/surgehq/surge/internal/load/postman"
	"github.com/valyala/fasthttp"
)

// client sends one worker's requests; each worker has its own, so a
// client needs no locking.
type client interface {
	// do sends req and fills res; an error means no HTTP response.
	do(req *request, res *response) error
}

// transport makes the clients of a run and owns their connections.
type transport interface {
	newClient() client
	close()
}

// wire counts bytes on the wire, headers and TLS included.
type wire struct {
	in, out atomic.Int64
}

// countConn counts what goes through a connection.
type countConn struct {
	net.Conn
	w *wire
}

func (c *countConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.w.in.Add(int64(n))
	return n, err
}

func (c *countConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.w.out.Add(int64(n))
	return n, err
}

func newTransport(s *Scenario, w *wire) (transport, error) {
	u, err := url.Parse(s.Target)
	if err != nil {
		return nil, fmt.Errorf("target: %w", err)
	}
	headers := make([][2]string, 0, len(s.Headers))
	for _, k := range sortedKeys(s.Headers) {
		headers = append(headers, [2]string{k, s.Headers[k]})
	}
	dialer := &net.Dialer{Timeout: s.Timeout, KeepAlive: 30 * time.Second}
	if s.Client == ClientStd {
		return newStdTransport(s, u, dialer, w, headers), nil
	}
	dial := func(addr string) (net.Conn, error) {
		c, err := dialer.Dial("tcp", s.ConnectTo.addr(addr))
		if err != nil {
			return nil, err
		}
		return &countConn{Conn: c, w: w}, nil
	}
	if s.Postman.File != "" {
		// A collection's requests go to the hosts their URLs name.
		cl := &fasthttp.Client{
			Dial:                      dial,
			TLSConfig:                 &tls.Config{InsecureSkipVerify: s.Insecure}, //nolint:gosec // asked for by --insecure
			MaxConnsPerHost:           s.MaxInFlight + 1,
			MaxIdemponentCallAttempts: 1,
			RetryIf:                   func(*fasthttp.Request) bool { return false },
			MaxResponseBodySize:       maxBody,
			ReadBufferSize:            16 << 10,
			MaxIdleConnDuration:       time.Minute,
			NoDefaultUserAgentHeader:  true,
			DisablePathNormalizing:    true,
		}
		return &fastTransport{multi: cl, headers: headers, timeout: s.Timeout}, nil
	}
	addr := u.Host
	if u.Port() == "" {
		if u.Scheme == "https" {
			addr = net.JoinHostPort(u.Hostname(), "443")
		} else {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
	}
	hc := &fasthttp.HostClient{
		Addr:     addr,
		IsTLS:    u.Scheme == "https",
		Dial:     dial,
		MaxConns: s.MaxInFlight + 1,
		// No ReadTimeout or WriteTimeout: DoTimeout's deadline covers both,
		// and each would cost another clock read per request.
		// A load tester retries nothing: a failure is data.
		MaxIdemponentCallAttempts: 1,
		RetryIf:                   func(*fasthttp.Request) bool { return false },
		MaxResponseBodySize:       maxBody,
		ReadBufferSize:            16 << 10,
		MaxIdleConnDuration:       time.Minute,
		NoDefaultUserAgentHeader:  true,
		// Keep paths and header names exactly as built.
		DisablePathNormalizing: true,
	}
	if hc.IsTLS {
		hc.TLSConfig = &tls.Config{InsecureSkipVerify: s.Insecure, ServerName: u.Hostname()} //nolint:gosec // asked for by --insecure
	}
	return &fastTransport{hc: hc, headers: headers, timeout: s.Timeout}, nil
}

// maxBody bounds a response body, read or decompressed.
const maxBody = 64 << 20

// fastTransport is fasthttp's HTTP/1.1 client with keep-alive: the hot
// path reuses one request and one response per worker and allocates
// nothing. A run of the API's shape has one host; a collection's requests
// go wherever their URLs say (multi).
type fastTransport struct {
	hc      *fasthttp.HostClient
	multi   *fasthttp.Client
	headers [][2]string
	timeout time.Duration
}

// fastDoer is a fasthttp client for one host or for any.
type fastDoer interface {
	DoTimeout(req *fasthttp.Request, resp *fasthttp.Response, timeout time.Duration) error
}

func (t *fastTransport) newClient() client {
	var hc fastDoer = t.hc
	if t.multi != nil {
		hc = t.multi
	}
	c := &fastClient{hc: hc, get: fasthttp.AcquireRequest(), other: fasthttp.AcquireRequest(),
		own: fasthttp.AcquireRequest(), res: fasthttp.AcquireResponse(), timeout: t.timeout, headers: t.headers}
	// Headers stay set across requests: Do does not reset the request.
	for _, q := range []*fasthttp.Request{c.get, c.other} {
		q.Header.SetNoDefaultContentType(true)
		q.Header.Set("User-Agent", "surge-load")
		for _, h := range t.headers {
			q.Header.Set(h[0], h[1])
		}
	}
	c.get.Header.SetMethod("GET")
	return c
}

func (t *fastTransport) close() {
	if t.multi != nil {
		t.multi.CloseIdleConnections()
		return
	}
	t.hc.CloseIdleConnections()
}

// fastClient keeps GETs on a request of their own: fasthttp leaves the
// previous body's Content-Length on a reused request, and a GET carrying
// one would make the server wait for a body that never comes. A request
// with headers of its own (a collection's) is built afresh on a third.
type fastClient struct {
	hc              fastDoer
	get, other, own *fasthttp.Request
	res             *fasthttp.Response
	timeout         time.Duration
	headers         [][2]string
}

func (c *fastClient) do(r *request, out *response) error {
	q := c.get
	switch {
	case r.header != nil || r.judge:
		q = c.own
		q.Reset()
		q.Header.SetNoDefaultContentType(true)
		q.Header.SetMethod(r.method)
		q.Header.Set("User-Agent", "surge-load")
		for _, h := range c.headers {
			q.Header.Set(h[0], h[1])
		}
		for _, h := range r.header {
			q.Header.SetBytesKV(h.Key, h.Value)
		}
		if len(r.body) > 0 {
			q.SetBodyRaw(r.body)
		}
	case r.method != "GET" || r.body != nil:
		q = c.other
		q.Header.SetMethod(r.method)
		q.SetBodyRaw(r.body)
		q.Header.SetContentType(r.ctype)
	}
	q.SetRequestURIBytes(r.url)
	// The timeout bounds the whole request, including the wait for a
	// connection and the dial; read and write deadlines alone would not.
	err := c.hc.DoTimeout(q, c.res, c.timeout)
	if err != nil {
		return err
	}
	p := c.res
	out.status = p.StatusCode()
	out.body = p.Body()
	if r.wantID {
		out.location = p.Header.Peek("Location")
	} else {
		out.location = nil
	}
	cs := p.Header.Peek("X-Cold-Start")
	out.coldStart = len(cs) == 4 && bytes.EqualFold(cs, []byte("true"))
	out.serverTiming = p.Header.Peek("Server-Timing")
	out.cache = cacheOutcome(p.Header.Peek(CacheHeader))
	out.limitSource = nil
	if out.status == 429 || out.status == 503 {
		out.limitSource = p.Header.Peek(LimitSourceHeader)
	}
	if r.judge {
		// Checks read the body as Postman shows it: decoded.
		out.header = &p.Header
		if b, err := p.BodyUncompressedWithLimit(maxBody); err == nil {
			out.body = b
		}
	}
	return nil
}

// stdTransport is net/http's client: slower, but it speaks HTTP/2.
type stdTransport struct {
	tr      *http.Transport
	hc      *http.Client
	headers [][2]string
}

func newStdTransport(s *Scenario, u *url.URL, dialer *net.Dialer, w *wire, headers [][2]string) *stdTransport {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := dialer.DialContext(ctx, network, s.ConnectTo.addr(addr))
			if err != nil {
				return nil, err
			}
			return &countConn{Conn: c, w: w}, nil
		},
		MaxIdleConns:        s.MaxInFlight + 1,
		MaxIdleConnsPerHost: s.MaxInFlight + 1,
		MaxConnsPerHost:     s.MaxInFlight + 1,
		IdleConnTimeout:     time.Minute,
		DisableCompression:  true,
		TLSClientConfig:     &tls.Config{InsecureSkipVerify: s.Insecure}, //nolint:gosec // asked for by --insecure
	}
	if s.HTTP2 {
		var p http.Protocols
		if u.Scheme == "http" {
			p.SetUnencryptedHTTP2(true)
		} else {
			p.SetHTTP2(true)
		}
		tr.Protocols = &p
	} else {
		var p http.Protocols
		p.SetHTTP1(true)
		tr.Protocols = &p
	}
	return &stdTransport{
		tr:      tr,
		hc:      &http.Client{Transport: tr, Timeout: s.Timeout, CheckRedirect: noRedirects},
		headers: headers,
	}
}

func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

func (t *stdTransport) newClient() client { return &stdClient{t: t, buf: make([]byte, 0, 64<<10)} }
func (t *stdTransport) close()            { t.tr.CloseIdleConnections() }

type stdClient struct {
	t   *stdTransport
	rd  bytes.Reader
	buf []byte
	loc []byte
	st  []byte
	ls  []byte
}

func (c *stdClient) do(r *request, out *response) error {
	var body io.Reader
	if r.body != nil {
		c.rd.Reset(r.body)
		body = &c.rd
	}
	req, err := http.NewRequest(r.method, string(r.url), body)
	if err != nil {
		return err
	}
	if r.body != nil {
		req.ContentLength = int64(len(r.body))
		if r.ctype != "" {
			req.Header.Set("Content-Type", r.ctype)
		}
	}
	req.Header.Set("User-Agent", "surge-load")
	for _, h := range c.t.headers {
		req.Header.Set(h[0], h[1])
	}
	for _, h := range r.header {
		if k := string(h.Key); strings.EqualFold(k, "Host") {
			req.Host = string(h.Value)
		} else {
			req.Header.Set(k, string(h.Value))
		}
	}
	res, err := c.t.hc.Do(req)
	if err != nil {
		return err
	}
	c.buf = c.buf[:0]
	for {
		if len(c.buf) == cap(c.buf) {
			c.buf = append(c.buf, 0)[:len(c.buf)]
		}
		n, err := res.Body.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			res.Body.Close()
			return err
		}
	}
	res.Body.Close()
	out.status = res.StatusCode
	out.body = c.buf
	c.loc = append(c.loc[:0], res.Header.Get("Location")...)
	out.location = c.loc
	out.coldStart = res.Header.Get("X-Cold-Start") == "true"
	c.st = append(c.st[:0], res.Header.Get("Server-Timing")...)
	out.serverTiming = c.st
	out.cache = cacheOutcome([]byte(res.Header.Get(CacheHeader)))
	out.limitSource = nil
	if out.status == 429 || out.status == 503 {
		c.ls = append(c.ls[:0], res.Header.Get(LimitSourceHeader)...)
		out.limitSource = c.ls
	}
	if r.judge {
		out.header = postman.HTTPHeader(res.Header)
		out.body = decoded(res.Header.Get("Content-Encoding"), c.buf)
	}
	return nil
}

// decoded returns a body decoded from its Content-Encoding (gzip or
// deflate), or as it is when it has none or does not decode.
func decoded(encoding string, body []byte) []byte {
	var rd io.Reader
	var err error
	switch strings.ToLower(strings.TrimSpace(encoding)) {
	case "gzip", "x-gzip":
		rd, err = gzip.NewReader(bytes.NewReader(body))
	case "deflate":
		rd, err = zlib.NewReader(bytes.NewReader(body))
	default:
		return body
	}
	if err != nil {
		return body
	}
	b, err := io.ReadAll(io.LimitReader(rd, maxBody))
	if err != nil {
		return body
	}
	return b
}

// classify tells what kind of failure err is.
func classify(err error) ErrKind {
	var ne net.Error
	var oe *net.OpError
	var re tls.RecordHeaderError
	var ve *tls.CertificateVerificationError
	switch {
	case errors.Is(err, fasthttp.ErrTimeout), errors.Is(err, fasthttp.ErrDialTimeout),
		errors.Is(err, os.ErrDeadlineExceeded), errors.Is(err, context.DeadlineExceeded):
		return ErrTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return ErrRefused
	case errors.Is(err, context.Canceled):
		return ErrCanceled
	case errors.As(err, &re), errors.As(err, &ve):
		return ErrTLS
	case errors.Is(err, fasthttp.ErrConnectionClosed), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, net.ErrClosed):
		return ErrClosed
	case errors.As(err, &ne) && ne.Timeout():
		return ErrTimeout
	case errors.As(err, &oe) && oe.Op == "dial":
		return ErrDial
	}
	return ErrOther
}
