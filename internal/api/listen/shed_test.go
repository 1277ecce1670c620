package listen_test

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/listen"
)

// TestShedConnectionsOverTheBound: with two connections open and busy, a
// third is answered 503 with the limit's source and Retry-After, in the
// API's error form, and closed; with two open and idle, a third takes the
// place of one of them, which is closed; the smuggling guard still holds
// on the bounded listener.
func TestShedConnectionsOverTheBound(t *testing.T) {
	var shed atomic.Int64
	ln, err := listen.ListenShed("127.0.0.1:0", 2, func() { shed.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	release := make(chan struct{})
	var busy sync.WaitGroup
	srv := listen.Limits{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}.Server(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/busy" {
				busy.Done()
				<-release
			}
			fmt.Fprint(w, "ok")
		}), nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		return c
	}
	// get sends one GET of path on c and reads its answer, the body in
	// the header X-Body.
	get := func(c net.Conn, path string) *http.Response {
		t.Helper()
		fmt.Fprintf(c, "GET %s HTTP/1.1\r\nHost: t\r\n\r\n", path)
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		resp.Header.Set("X-Body", string(body))
		return resp
	}
	closedByServer := func(c net.Conn) bool {
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(make([]byte, 1))
		var ne net.Error
		return n == 0 && err != nil && !(errors.As(err, &ne) && ne.Timeout())
	}

	// Two busy connections: a third is refused.
	busy.Add(2)
	a, b := dial(), dial()
	for _, c := range []net.Conn{a, b} {
		fmt.Fprintf(c, "GET /busy HTTP/1.1\r\nHost: t\r\n\r\n")
	}
	busy.Wait()
	c := dial()
	rc := get(c, "/x")
	if rc.StatusCode != http.StatusServiceUnavailable || rc.Header.Get("X-Limit-Source") != listen.ShedSource ||
		rc.Header.Get("Retry-After") != "1" || !rc.Close || rc.Header.Get("X-Body") != listen.ShedBody {
		t.Fatalf("a third connection beside two busy ones: %d %v, want 503 with X-Limit-Source: %s, Retry-After, Connection: close and the error body",
			rc.StatusCode, rc.Header, listen.ShedSource)
	}
	if !closedByServer(c) {
		t.Fatal("the refused connection stays open")
	}
	c.Close()
	if got := shed.Load(); got != 1 {
		t.Fatalf("%d refusals counted, want 1", got)
	}

	// Their answers done, both wait idle: a third is served in the place
	// of one of them, which is closed.
	close(release)
	for _, c := range []net.Conn{a, b} {
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("a busy request's answer: %v %v", resp, err)
		}
		resp.Body.Close()
	}
	var d net.Conn
	deadline := time.Now().Add(10 * time.Second)
	for {
		d = dial()
		if rd := get(d, "/x"); rd.StatusCode == 200 {
			break
		}
		// The server marks a connection idle just after writing its
		// answer, which the client may read first.
		d.Close()
		if time.Now().After(deadline) {
			t.Fatal("a connection beside two idle ones is refused")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if ca, cb := closedByServer(a), closedByServer(b); ca == cb {
		t.Fatalf("of the two idle connections, closed: %v and %v; want one", ca, cb)
	}
	a.Close()
	b.Close()
	d.Close()

	// The guard against Content-Length with Transfer-Encoding sees the
	// bounded listener's connections too.
	for {
		smuggle := dial()
		fmt.Fprint(smuggle, "POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(smuggle), nil)
		smuggle.Close()
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
			continue
		}
		if resp.StatusCode != http.StatusBadRequest {
			t.Fatalf("a request with Content-Length and Transfer-Encoding on the bounded listener: %d, want 400", resp.StatusCode)
		}
		break
	}
}

// TestShedUnderManyConnections: 60 clients at once against a bound of
// 20 each get an answer, 200 or the 503, never a reset or a hang, and the
// bound is never passed.
func TestShedUnderManyConnections(t *testing.T) {
	ln, err := listen.ListenShed("127.0.0.1:0", 20, nil)
	if err != nil {
		t.Fatal(err)
	}
	var inFlight, most atomic.Int64
	release := make(chan struct{})
	srv := listen.Limits{ReadHeaderTimeout: 5 * time.Second}.Server(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for {
			m := most.Load()
			if n <= m || most.CompareAndSwap(m, n) {
				break
			}
		}
		<-release
		fmt.Fprint(w, "ok")
	}), nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })

	const clients = 60
	type answer struct {
		status int
		err    error
	}
	answers := make(chan answer, clients)
	for range clients {
		go func() {
			tr := &http.Transport{DisableKeepAlives: true}
			defer tr.CloseIdleConnections()
			cl := &http.Client{Transport: tr, Timeout: 20 * time.Second}
			resp, err := cl.Get("http://" + ln.Addr().String() + "/x")
			if err != nil {
				answers <- answer{err: err}
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			answers <- answer{status: resp.StatusCode}
		}()
	}
	// The served ones wait until every refused one has its answer.
	got := map[int]int{}
	var errs []string
	for i := 0; i < clients; i++ {
		if i == clients-20 {
			close(release)
		}
		select {
		case a := <-answers:
			if a.err != nil {
				errs = append(errs, a.err.Error())
				continue
			}
			got[a.status]++
		case <-time.After(15 * time.Second):
			if i < clients-20 {
				close(release)
			}
			t.Fatalf("answers stopped after %d: %v", i, got)
		}
	}
	if len(errs) > 0 {
		t.Errorf("%d clients got no answer: %s", len(errs), strings.Join(errs[:min(3, len(errs))], "; "))
	}
	if got[200] != 20 || got[http.StatusServiceUnavailable] != clients-20 {
		t.Errorf("answers %v, want 20 served and %d refused", got, clients-20)
	}
	if m := most.Load(); m > 20 {
		t.Errorf("%d requests in service at once over a bound of 20 connections", m)
	}
}
