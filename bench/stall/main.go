// Command stall is a test target that stalls: every response waits while
// the server is in the first -stall of each -period, like a server in a
// stop-the-world pause. A closed-model load generator (wrk, hey) sends
// almost nothing during a stall, so it records only a few slow requests and
// under-reports the tail; an open-model one keeps to its schedule and sees
// every request that was due.
//
// With -truth it serves nothing and prints the true latency percentiles of
// a constant-rate schedule against such a server instead: each request due
// at time t waits for the rest of the stall t falls in. Over a whole number
// of periods the distribution does not depend on where the stalls fall, so
// no clock needs to be shared with the load generator.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"os"
	"sort"
	"time"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:8090", "listen address")
	period := flag.Duration("period", time.Second, "stall period")
	stall := flag.Duration("stall", 200*time.Millisecond, "stall length within each period")
	truth := flag.Bool("truth", false, "print the true percentiles of a constant-rate schedule and exit")
	rate := flag.Float64("rate", 2000, "with -truth: requests per second of the schedule")
	duration := flag.Duration("duration", 10*time.Second, "with -truth: length of the schedule")
	service := flag.Duration("service", 0, "with -truth: service time added to every request")
	flag.Parse()
	if *truth {
		printTruth(os.Stdout, *rate, *duration, *period, *stall, *service)
		return
	}
	start := time.Now()
	body := []byte(`{"items":[]}`)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ph := time.Since(start) % *period; ph < *stall {
			time.Sleep(*stall - ph)
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	})
	log.Printf("stall: %s of every %s on %s", *stall, *period, *addr)
	log.Fatal(http.ListenAndServe(*addr, h))
}

// printTruth prints p50, p90, p99 and p99.9 in milliseconds of the latency
// each request of the schedule n/rate should see.
func printTruth(w io.Writer, rate float64, d, period, stall, service time.Duration) {
	n := int(math.Ceil(rate * d.Seconds()))
	lat := make([]float64, n)
	for i := range n {
		t := time.Duration(float64(i) / rate * float64(time.Second))
		wait := time.Duration(0)
		if ph := t % period; ph < stall {
			wait = stall - ph
		}
		lat[i] = float64(wait+service) / float64(time.Millisecond)
	}
	sort.Float64s(lat)
	q := func(p float64) float64 { return lat[max(0, int(math.Ceil(p*float64(n)))-1)] }
	fmt.Fprintf(w, "p50 %.3f\np90 %.3f\np99 %.3f\np99.9 %.3f\n", q(0.50), q(0.90), q(0.99), q(0.999))
}
