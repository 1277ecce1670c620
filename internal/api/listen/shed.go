package listen

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/surgehq/surge/internal/api/rest"
)

// Shedding bounds: how long a refused connection may take to send its
// request's head, how long it is given to read the answer, and how much
// of its head is read.
const (
	shedReadTimeout = 500 * time.Millisecond
	shedDrainTime   = 250 * time.Millisecond
	shedHeadBytes   = 8 << 10
)

// ShedBody is the answer's body to a connection over the bound, in the
// items API's error form.
const ShedBody = `{"code":"unavailable","message":"The service has too many connections open; retry later."}` + "\n"

// ShedSource is the X-Limit-Source of the answer to a connection over the
// bound.
const ShedSource = rest.LimitConnections

var shedAnswer = []byte("HTTP/1.1 503 Service Unavailable\r\n" +
	"Content-Type: application/json\r\n" +
	"Retry-After: 1\r\n" +
	"X-Limit-Source: " + ShedSource + "\r\n" +
	"Connection: close\r\n" +
	"Content-Length: " + strconv.Itoa(len(ShedBody)) + "\r\n\r\n" + ShedBody)

// Shed returns ln with the connections open at once bounded by limit.
// At the bound, a new connection takes the place of one that waits idle
// for its next request (closed, as an idle timeout would close it), so
// that one client's kept-alive connections never lock others out; with
// none idle, the new one is not served but answered, once its request's
// head has arrived, with 503 (Retry-After: 1, X-Limit-Source: connections,
// Connection: close), and closed. Each connection costs the server a
// goroutine and its buffers whether its request is served or waits, so it
// is the bound on connections, not on requests, that bounds memory when
// clients open ever more of them to get answers. At most limit (and at
// least 64) refusals are under way at once, each a small goroutine for at
// most a second; a connection past them is closed at once. onShed, if not
// nil, is called for each connection refused. limit <= 0 returns ln
// unchanged. Serve the result with a Server of this package, whose
// ConnState hook tells it which connections are idle.
func Shed(ln net.Listener, limit int, onShed func()) net.Listener {
	if limit <= 0 {
		return ln
	}
	return &shedListener{Listener: ln, max: int64(limit), maxRefusing: int64(max(64, limit)), onShed: onShed,
		idle: map[*countedConn]struct{}{}}
}

// ListenShed listens on the TCP address with its connections bounded (see
// Shed) and watched (see Wrap).
func ListenShed(addr string, limit int, onShed func()) (net.Listener, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	return Wrap(Shed(ln, limit, onShed)), nil
}

type shedListener struct {
	net.Listener
	max, maxRefusing int64
	open, refusing   atomic.Int64
	onShed           func()

	mu   sync.Mutex
	idle map[*countedConn]struct{} // served connections waiting for a request
}

// evictIdle closes one connection that waits for its next request, if
// there is one: at the bound, a new client is served at the cost of a
// kept-alive connection that serves nobody now (whose client opens it
// again when it needs it, as after an idle timeout), rather than refused
// while another client's idle connections hold every place until their
// idle timeout.
func (l *shedListener) evictIdle() {
	l.mu.Lock()
	var victim *countedConn
	for c := range l.idle {
		victim = c
		delete(l.idle, c)
		break
	}
	l.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
}

func (l *shedListener) setIdle(c *countedConn, idle bool) {
	l.mu.Lock()
	if idle && !c.closed.Load() {
		l.idle[c] = struct{}{}
	} else {
		delete(l.idle, c)
	}
	l.mu.Unlock()
}

func (l *shedListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		if l.open.Load() >= l.max {
			l.evictIdle()
		}
		if l.open.Add(1) <= l.max {
			return &countedConn{Conn: c, l: l}, nil
		}
		l.open.Add(-1)
		if l.onShed != nil {
			l.onShed()
		}
		if l.refusing.Add(1) > l.maxRefusing {
			l.refusing.Add(-1)
			c.Close()
			continue
		}
		go func() {
			defer l.refusing.Add(-1)
			refuseConn(c)
		}()
	}
}

// refuseConn answers c's first request with the 503 once its head has
// arrived, and closes c after the client has had time to read it (a close
// with unread bytes would reset the connection and could lose the answer).
func refuseConn(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(shedReadTimeout))
	buf := make([]byte, 0, 1024)
	for len(buf) < shedHeadBytes {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := c.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if bytes.Contains(buf, []byte("\r\n\r\n")) || bytes.Contains(buf, []byte("\n\n")) {
			break
		}
		if err != nil {
			return
		}
	}
	if _, err := c.Write(shedAnswer); err != nil {
		return
	}
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.SetReadDeadline(time.Now().Add(shedDrainTime))
	io.Copy(io.Discard, io.LimitReader(c, 1<<20))
}

// countedConn gives back its place under the bound when closed.
type countedConn struct {
	net.Conn
	l      *shedListener
	closed atomic.Bool
}

func (c *countedConn) Close() error {
	if !c.closed.Swap(true) {
		c.l.setIdle(c, false)
		c.l.open.Add(-1)
	}
	return c.Conn.Close()
}

// trackState follows a bounded connection's state as the http.Server
// reports it (its ConnState hook), so that an idle one can be closed to
// make room.
func trackState(c net.Conn, state http.ConnState) {
	if gc, ok := c.(*conn); ok {
		c = gc.Conn
	}
	if cc, ok := c.(*countedConn); ok {
		cc.l.setIdle(cc, state == http.StateIdle)
	}
}
