package listen_test

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/api/listen"
)

// TestShedConnectionsOverTheBound: with two connections open and served, a
// third is answered 503 with the limit's source and Retry-After, in the
// API's error form, and closed; once a served connection closes, a new one
// is served again; the smuggling guard still holds on the bounded
// listener.
func TestShedConnectionsOverTheBound(t *testing.T) {
	var shed atomic.Int64
	ln, err := listen.ListenShed("127.0.0.1:0", 2, func() { shed.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	srv := listen.Limits{ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute}.Server(
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, "ok") }), nil)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	addr := ln.Addr().String()

	// get sends one GET on its own connection, kept open, and returns the
	// connection with the answer's status line and headers.
	get := func() (net.Conn, *http.Response) {
		t.Helper()
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(c, "GET /x HTTP/1.1\r\nHost: t\r\n\r\n")
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<10))
		resp.Body.Close()
		resp.Header.Set("X-Body", string(body))
		return c, resp
	}

	a, ra := get()
	b, rb := get()
	defer b.Close()
	if ra.StatusCode != 200 || rb.StatusCode != 200 {
		t.Fatalf("the first two connections: %d and %d, want 200", ra.StatusCode, rb.StatusCode)
	}
	c, rc := get()
	if rc.StatusCode != http.StatusServiceUnavailable || rc.Header.Get("X-Limit-Source") != listen.ShedSource ||
		rc.Header.Get("Retry-After") != "1" || !rc.Close || rc.Header.Get("X-Body") != listen.ShedBody {
		t.Fatalf("the third connection: %d %v, want 503 with X-Limit-Source: %s, Retry-After, Connection: close and the error body",
			rc.StatusCode, rc.Header, listen.ShedSource)
	}
	if n, err := c.Read(make([]byte, 1)); n != 0 || err == nil {
		t.Fatalf("the refused connection stays open (read %d, %v)", n, err)
	}
	c.Close()
	if got := shed.Load(); got != 1 {
		t.Fatalf("%d refusals counted, want 1", got)
	}

	a.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, rd := get()
		d.Close()
		if rd.StatusCode == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after a served connection closed, a new one still gets %d", rd.StatusCode)
		}
		time.Sleep(10 * time.Millisecond) // the server notices the close when it next reads
	}

	// The guard against Content-Length with Transfer-Encoding sees the
	// bounded listener's connections too.
	b.Close()
	for {
		smuggle, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		smuggle.SetDeadline(time.Now().Add(10 * time.Second))
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
