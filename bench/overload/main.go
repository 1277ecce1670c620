// Command overload is bench/overload.sh's helper. It has three uses:
//
//	overload probe URL DURATION        normal requests beside a spike
//	overload recovery RUN.json PROBE SPIKE   recovery time after the spike
//	overload summary SPIKE.json        shed rate and admitted p99 of a spike
//
// probe sends one GET of URL every 10 ms for DURATION, started beside a
// `surge load` run, and prints one line per request: its send time (Unix
// nanoseconds) and whether it succeeded (a 200 within a second).
//
// recovery reads the run's start from its result, so that the spike's end
// (the start plus SPIKE) and the probe share one clock, and prints the
// recovery time in milliseconds: from the spike's end to the send time of
// the first probe request after which every one succeeded; 0 when none
// failed after the spike, "none" when the last one failed. It logs the
// probe's failures by 100 ms to stderr.
//
// summary prints "offered achieved shed_rate failed_rate admitted_p99_ms
// server_p99_ms lag_p99_ms" for the `surge load` result of a spike. The
// server's p99 is the same bound on the answers' own Server-Timing total,
// the time the service spent on them (requests that failed for lack of an
// answer are not in it). A shed request is
// one answered 503, a failed one had no answer in time; the lag is how
// late the load generator sent its requests (a large lag says the
// generator, sharing the machine, could not keep to the rate). The
// admitted p99 is an upper bound read from the run's one latency
// histogram, in which shed answers are mixed with the rest: the value
// under which 99% of the admitted requests fall is at most the value at
// quantile 1 - 0.01*admitted/total of the whole (exactly that when every
// shed answer is faster, as an answer that does no work is).
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/surgehq/surge/internal/load"
)

func main() {
	var err error
	switch {
	case len(os.Args) == 4 && os.Args[1] == "probe":
		err = probe(os.Args[2], os.Args[3])
	case len(os.Args) == 5 && os.Args[1] == "recovery":
		err = recovery(os.Args[2], os.Args[3], os.Args[4])
	case len(os.Args) == 3 && os.Args[1] == "summary":
		err = summary(os.Args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: overload probe URL DURATION | recovery RUN.json PROBE SPIKE | summary SPIKE.json")
		os.Exit(2)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "overload:", err)
		os.Exit(1)
	}
}

// probe sends the probe's requests; see the package documentation.
func probe(url, durText string) error {
	dur, err := time.ParseDuration(durText)
	if err != nil {
		return err
	}
	c := &http.Client{Timeout: time.Second}
	var mu sync.Mutex
	var wg sync.WaitGroup
	out := bufio.NewWriter(os.Stdout)
	start := time.Now()
	for next := start; time.Since(start) < dur; next = next.Add(10 * time.Millisecond) {
		time.Sleep(time.Until(next))
		wg.Add(1)
		go func(at time.Time) {
			defer wg.Done()
			ok, why := false, ""
			if resp, err := c.Get(url); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				ok = resp.StatusCode == http.StatusOK
				why = strconv.Itoa(resp.StatusCode)
				if src := resp.Header.Get(load.LimitSourceHeader); src != "" {
					why += ":" + src
				}
			} else {
				why = "error"
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					why = "timeout"
				}
			}
			mu.Lock()
			fmt.Fprintln(out, at.UnixNano(), ok, why)
			mu.Unlock()
		}(time.Now())
	}
	wg.Wait()
	return out.Flush()
}

// recovery computes the recovery time; see the package documentation.
func recovery(runPath, probePath, spikeText string) error {
	spike, err := time.ParseDuration(spikeText)
	if err != nil {
		return err
	}
	r, err := load.ReadResultFile(runPath)
	if err != nil {
		return err
	}
	end := r.Started.Add(spike)
	b, err := os.ReadFile(probePath)
	if err != nil {
		return err
	}
	var lastFail, latest time.Duration = -1, -1
	failsBy := map[int]int{}
	whyBy := map[int]map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		ns, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil {
			return fmt.Errorf("%s: %q: %w", probePath, line, err)
		}
		at := time.Unix(0, ns).Sub(end)
		if at < 0 {
			continue // during the spike
		}
		latest = max(latest, at)
		if f[1] != "true" {
			i := int(at / (100 * time.Millisecond))
			failsBy[i]++
			if len(f) > 2 {
				if whyBy[i] == nil {
					whyBy[i] = map[string]int{}
				}
				whyBy[i][f[2]]++
			}
			lastFail = max(lastFail, at)
		}
	}
	for i := 0; i <= int(latest/(100*time.Millisecond)); i++ {
		if failsBy[i] > 0 {
			fmt.Fprintf(os.Stderr, "probe: %d failed of those sent %d-%d ms after the spike %v\n", failsBy[i], i*100, i*100+100, whyBy[i])
		}
	}
	switch {
	case latest < 0:
		return fmt.Errorf("%s: no probe request after the spike", probePath)
	case lastFail < 0:
		fmt.Println(0)
	case lastFail >= latest:
		fmt.Println("none")
	default:
		fmt.Println((lastFail + 10*time.Millisecond).Milliseconds())
	}
	return nil
}

// summary prints a spike's figures; see the package documentation.
func summary(path string) error {
	r, err := load.ReadResultFile(path)
	if err != nil {
		return err
	}
	total := r.Total
	shed := total.Statuses["503"]
	n := total.Count
	if n == 0 {
		return fmt.Errorf("%s: no request", path)
	}
	admitted := n - shed
	h, err := load.DecodeHist(total.LatencyHist)
	if err != nil {
		return err
	}
	var failed int64
	for _, k := range total.ErrorKinds {
		failed += k
	}
	p99, server := "n/a", "n/a"
	if admitted > 0 {
		q := 100 * (1 - 0.01*float64(admitted)/float64(n))
		p99 = fmt.Sprintf("%.1f", float64(h.ValueAtQuantile(q))/1000)
	}
	if answered := n - failed; answered > shed {
		// Every answer carries Server-Timing: the same bound over the
		// answers alone.
		q := 100 * (1 - 0.01*float64(answered-shed)/float64(answered))
		for _, m := range total.ServerTiming {
			if m.Name != "total" {
				continue
			}
			sh, err := load.DecodeHist(m.Hist)
			if err != nil {
				return err
			}
			server = fmt.Sprintf("%.1f", float64(sh.ValueAtQuantile(q))/1000)
		}
	}
	fmt.Printf("%.0f %.0f %.4f %.4f %s %s %.1f\n", r.OfferedRate, r.AchievedRate, float64(shed)/float64(n),
		float64(failed)/float64(n), p99, server, r.Lag.P99)
	return nil
}
