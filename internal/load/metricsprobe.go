package load

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
)

// The Prometheus metrics of surge's local Lambda that MetricsProbe reads
// (internal/observe/metrics; CloudWatch's names in their help).
const (
	MetricInvocations = "surge_lambda_invocations_total"
	MetricConcurrency = "surge_lambda_concurrent_executions"
)

// MetricsProbe is a Probe that reads a target's Prometheus metrics, such
// as surge's admin /metrics: function invocations (the sum of
// surge_lambda_invocations_total over its functions) and concurrent
// executions (surge_lambda_concurrent_executions, a gauge read at each
// sample).
type MetricsProbe struct {
	// URL is the metrics endpoint, such as http://127.0.0.1:9090/metrics.
	URL string
	// Client sends the requests; nil is a client with a short timeout.
	Client *http.Client
}

// maxMetricsBody bounds the metrics page read.
const maxMetricsBody = 16 << 20

// Sample implements Probe.
func (p *MetricsProbe) Sample(ctx context.Context) (TargetSample, error) {
	hc := p.Client
	if hc == nil {
		hc = &http.Client{Timeout: probeTimeout}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.URL, nil)
	if err != nil {
		return TargetSample{}, fmt.Errorf("metrics probe: %w", err)
	}
	res, err := hc.Do(req)
	if err != nil {
		return TargetSample{}, fmt.Errorf("metrics probe: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return TargetSample{}, fmt.Errorf("metrics probe: %s: %s", p.URL, res.Status)
	}
	sums, err := SumMetrics(io.LimitReader(res.Body, maxMetricsBody), MetricInvocations, MetricConcurrency)
	if err != nil {
		return TargetSample{}, fmt.Errorf("metrics probe: %s: %w", p.URL, err)
	}
	var ts TargetSample
	if v, ok := sums[MetricInvocations]; ok {
		ts.Invocations, ts.HasInvocations = int64(math.Round(v)), true
	}
	if v, ok := sums[MetricConcurrency]; ok {
		ts.Concurrency, ts.HasConcurrency = v, true
	}
	return ts, nil
}

// SumMetrics reads Prometheus's text exposition format and returns, for
// each of the names asked for that it holds, the sum of its samples over
// every label set. Comments, other metrics and samples whose value is not
// a finite number are skipped; a line that is not a sample is an error.
func SumMetrics(r io.Reader, names ...string) (map[string]float64, error) {
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 || b[0] == '#' {
			continue
		}
		name, value, err := parseSample(b)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", line, err)
		}
		if !want[name] {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out[name] += v
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseSample splits a sample line, name{labels} value [timestamp], into
// its name and value text; label values may hold any escaped text.
func parseSample(b []byte) (name, value string, err error) {
	i := 0
	for i < len(b) && b[i] != '{' && b[i] != ' ' && b[i] != '\t' {
		i++
	}
	if i == 0 {
		return "", "", fmt.Errorf("no metric name in %q", clipBytes(b))
	}
	name = string(b[:i])
	if i < len(b) && b[i] == '{' {
		j := labelsEnd(b, i+1)
		if j < 0 {
			return "", "", fmt.Errorf("labels not closed in %q", clipBytes(b))
		}
		i = j + 1
	}
	rest := bytes.Fields(b[i:])
	if len(rest) == 0 || len(rest) > 2 {
		return "", "", fmt.Errorf("want a value (and a timestamp) after the name in %q", clipBytes(b))
	}
	return name, string(rest[0]), nil
}

// labelsEnd returns the index of the } that closes labels starting at i,
// or -1: braces inside quoted label values do not count.
func labelsEnd(b []byte, i int) int {
	quoted := false
	for ; i < len(b); i++ {
		switch c := b[i]; {
		case quoted && c == '\\':
			i++ // the escaped character
		case c == '"':
			quoted = !quoted
		case !quoted && c == '}':
			return i
		}
	}
	return -1
}

func clipBytes(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
