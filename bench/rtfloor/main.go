// Command rtfloor measures the floor under the local Lambda's added
// latency on this machine: the two HTTP exchanges of the Lambda Runtime
// API between two processes over loopback (the runtime's GET .../next
// answered with an event, then its POST .../response), with nothing else:
// a net/http server with two handlers and a child process running a
// net/http client loop. It prints the p50 and p99 of an invocation, from
// handing the event over to receiving the response, one at a time with
// PAUSE between them. bench/pool-latency.sh sets it beside the pool's.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"time"
)

func main() {
	n := flag.Int("n", 3000, "invocations")
	pause := flag.Duration("pause", time.Millisecond, "pause between invocations (low load)")
	client := flag.String("client", "", "run as the runtime against this address")
	flag.Parse()
	if *client != "" {
		runtime("http://" + *client + "/2018-06-01/runtime/invocation/")
		return
	}
	events, responses := make(chan []byte), make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /2018-06-01/runtime/invocation/next", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Lambda-Runtime-Aws-Request-Id", "id")
		_, _ = w.Write(<-events)
	})
	mux.HandleFunc("POST /2018-06-01/runtime/invocation/{id}/response", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
		responses <- struct{}{}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		log.Fatal(err)
	}
	go func() { _ = http.Serve(ln, mux) }()
	self, err := os.Executable()
	if err != nil {
		log.Fatal(err)
	}
	cmd := exec.Command(self, "-client", ln.Addr().String())
	if err := cmd.Start(); err != nil {
		log.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	event := bytes.Repeat([]byte("x"), 1024)
	took := make([]time.Duration, 0, *n)
	for i := range *n + 200 {
		t0 := time.Now()
		events <- event
		<-responses
		if i >= 200 { // the first ones warm both sides
			took = append(took, time.Since(t0))
		}
		time.Sleep(*pause)
	}
	slices.Sort(took)
	fmt.Printf("%.1f %.1f\n", us(took[len(took)/2]), us(took[len(took)*99/100]))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// runtime is the child: a Runtime API client loop that posts every
// event back as its response.
func runtime(base string) {
	c := &http.Client{}
	for {
		r, err := c.Get(base + "next")
		if err != nil {
			return
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		r2, err := c.Post(base+r.Header.Get("Lambda-Runtime-Aws-Request-Id")+"/response", "application/json", bytes.NewReader(body))
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, r2.Body)
		r2.Body.Close()
	}
}
