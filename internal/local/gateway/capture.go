package gateway

import (
	"net/http"
	"strconv"
	"sync"
)

// capture is a ResponseWriter that holds a response in memory, so that the
// gateway can look at it (cache it, tag it) before the client gets it.
// Once the body grows past limit, it gives up holding: it sends what it
// has and passes the rest through.
type capture struct {
	w      http.ResponseWriter
	h      http.Header
	status int
	body   []byte
	limit  int
	// passing is set once the response went through to w.
	passing bool
	// onPass, when set, is called just before the response goes through,
	// to add headers.
	onPass func(http.Header)
}

var capturePool = sync.Pool{New: func() any { return &capture{body: make([]byte, 0, 4096)} }}

func getCapture(w http.ResponseWriter, limit int) *capture {
	c := capturePool.Get().(*capture)
	c.w, c.limit, c.h = w, limit, make(http.Header, 4)
	return c
}

// release returns c to the pool; the caller must not use c or its body
// after.
func (c *capture) release() {
	if cap(c.body) > 1<<20 {
		c.body = make([]byte, 0, 4096) // do not keep big buffers
	}
	*c = capture{body: c.body[:0]}
	capturePool.Put(c)
}

func (c *capture) Header() http.Header { return c.h }

func (c *capture) WriteHeader(code int) {
	if c.passing {
		c.w.WriteHeader(code)
		return
	}
	if c.status == 0 && code >= 200 {
		c.status = code
	}
}

func (c *capture) Write(b []byte) (int, error) {
	if c.passing {
		return c.w.Write(b)
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if len(c.body)+len(b) > c.limit {
		c.pass()
		return c.w.Write(b)
	}
	c.body = append(c.body, b...)
	return len(b), nil
}

// Flush sends what is held and passes the rest through: a handler that
// flushes streams.
func (c *capture) Flush() {
	if !c.passing {
		if c.status == 0 {
			c.status = http.StatusOK
		}
		c.pass()
	}
	_ = http.NewResponseController(c.w).Flush()
}

// pass sends the held status, headers and body, and lets the rest through.
func (c *capture) pass() {
	c.passing = true
	dst := c.w.Header()
	for k, v := range c.h {
		dst[k] = v
	}
	if c.onPass != nil {
		c.onPass(dst)
	}
	if len(c.body) > 0 || c.status != 0 {
		c.w.WriteHeader(c.status)
	}
	if len(c.body) > 0 {
		c.w.Write(c.body)
	}
}

// finish sends a held response as it is. It is a no-op when the response
// already went through.
func (c *capture) finish() {
	if c.passing {
		return
	}
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if _, ok := c.h["Content-Length"]; !ok && bodyAllowed(c.status) {
		c.h["Content-Length"] = []string{strconv.Itoa(len(c.body))}
	}
	c.pass()
}

func bodyAllowed(status int) bool {
	return status >= 200 && status != http.StatusNoContent && status != http.StatusNotModified
}
