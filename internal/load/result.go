package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/surgehq/surge/internal/cost"
)

// ResultSchema names the version of the Result's JSON form. A change that
// a reader of the previous version would misread gets a new version.
const ResultSchema = "surge.load.result/v1"

// Result is everything a run measured, enough to redraw its report later:
// it is written as JSON by --out and read back by the report and compare
// commands.
type Result struct {
	Schema   string    `json:"schema"`
	Scenario Scenario  `json:"scenario"`
	Started  time.Time `json:"started"`
	// ElapsedSeconds runs from the start to the last response.
	ElapsedSeconds float64 `json:"elapsedSeconds"`
	// PlanSeconds is the plan's length.
	PlanSeconds float64 `json:"planSeconds"`
	// Stop says why the run ended: "completed", "interrupted" or "count";
	// a merged result whose parts do not cover the plan is "incomplete".
	Stop string `json:"stop"`

	// Planned is the number of requests the plan holds (open model, or a
	// count-bounded closed run); Due the number due before the run stopped;
	// Sent the number sent; Dropped = Due - Sent, the ones never sent: due
	// while every in-flight slot was busy and given up at the end (or past
	// MaxLag). Late counts the ones sent more than LateAfter past due.
	Planned    int64 `json:"planned"`
	Due        int64 `json:"due"`
	Sent       int64 `json:"sent"`
	Late       int64 `json:"late"`
	Dropped    int64 `json:"dropped"`
	DroppedLag int64 `json:"droppedLag"`
	// OfferedRate is Due per second of the plan that ran; AchievedRate the
	// completed requests per second elapsed.
	OfferedRate  float64 `json:"offeredRate"`
	AchievedRate float64 `json:"achievedRate"`
	// BytesOut and BytesIn are counted on the wire, headers included.
	BytesOut int64 `json:"bytesOut"`
	BytesIn  int64 `json:"bytesIn"`
	// Lag is the send lag, actual send minus intended, of every request.
	Lag     Stats  `json:"lag"`
	LagHist string `json:"lagHist"`

	// Total merges every operation; Ops has one entry per operation run.
	Total OpResult   `json:"total"`
	Ops   []OpResult `json:"ops"`
	// Series has one point per second (the last may be shorter).
	Series []Point `json:"series"`

	Preseed    Preseed           `json:"preseed"`
	Thresholds []ThresholdResult `json:"thresholds,omitempty"`
	Client     ClientInfo        `json:"client"`

	// Checks counts, for each check of a collection's requests that ran,
	// how often it passed and failed; Captures, for each capture, how
	// often it found its value.
	Checks   []CheckResult   `json:"checks,omitempty"`
	Captures []CaptureResult `json:"captures,omitempty"`

	// Part, in the result of one part of a split plan, says which part.
	Part *PartResult `json:"part,omitempty"`
	// Merged, in a result merged from parts (Merge), says of which, and
	// which parts of the plan are missing.
	Merged *Merged `json:"merged,omitempty"`
	// Cost is what the run would cost on AWS, from the target's usage
	// over the run (Scenario.Usage), by service and per million requests;
	// CostError says why there is none when there should be.
	Cost      *cost.Report `json:"cost,omitempty"`
	CostError string       `json:"costError,omitempty"`

	// PayloadLatency is the latency of each operation's requests by the
	// size class of their body (creates and updates).
	PayloadLatency []PayloadLatency `json:"payloadLatency,omitempty"`
	// Target is what the target reported of itself (WithProbe).
	Target *TargetResult `json:"target,omitempty"`
	// Knee is the throughput at the knee, in a result that a knee search
	// (FindKnee) made: its step at the knee.
	Knee *Knee `json:"knee,omitempty"`
	// Partial says the result was rebuilt from a streamed result file
	// that ends before the run did (killed or crashed; Stop "partial"):
	// it holds the run up to its last interval, without what only the
	// end computes (the target's cost).
	Partial bool `json:"partial,omitempty"`
}

// PayloadLatency is the latency of one operation's requests of one
// payload size class.
type PayloadLatency struct {
	Op string `json:"op"`
	// Size is the class's body size in bytes (a number in the JSON form,
	// as the HTML report reads it).
	Size        int64  `json:"size"`
	Latency     Stats  `json:"latency"`
	LatencyHist string `json:"latencyHist"`
}

// OpResult is what one operation (or all of them) measured.
type OpResult struct {
	Name       string `json:"name"`
	Count      int64  `json:"count"`
	Errors     int64  `json:"errors"`
	ColdStarts int64  `json:"coldStarts"`
	Late       int64  `json:"late"`
	// Statuses counts responses by status code ("0" for codes out of
	// range); ErrorKinds counts requests that got no response.
	Statuses   map[string]int64 `json:"statuses,omitempty"`
	ErrorKinds map[string]int64 `json:"errorKinds,omitempty"`
	ReqBytes   int64            `json:"reqBodyBytes"`
	RespBytes  int64            `json:"respBodyBytes"`
	// Latency is timed from the intended send time; Service from the
	// actual send. Their histograms are HdrHistograms of microseconds.
	Latency      Stats          `json:"latency"`
	Service      Stats          `json:"service"`
	LatencyHist  string         `json:"latencyHist"`
	ServiceHist  string         `json:"serviceHist"`
	ServerTiming []ServerMetric `json:"serverTiming,omitempty"`

	// ColdLatency and WarmLatency split Latency between the responses
	// marked X-Cold-Start and the others, when there were cold ones.
	ColdLatency     *Stats `json:"coldLatency,omitempty"`
	WarmLatency     *Stats `json:"warmLatency,omitempty"`
	ColdLatencyHist string `json:"coldLatencyHist,omitempty"`
	WarmLatencyHist string `json:"warmLatencyHist,omitempty"`
	// CacheHits and CacheMisses count the responses marked X-Cache: Hit
	// and Miss.
	CacheHits   int64 `json:"cacheHits,omitempty"`
	CacheMisses int64 `json:"cacheMisses,omitempty"`
	// StatusSources counts the 429s and 503s by the limit that refused
	// them (X-Limit-Source; "unnamed" where the response named none), by
	// status: {"429": {"gateway.stage": 12}}.
	StatusSources map[string]map[string]int64 `json:"statusSources,omitempty"`
	// Capacity sums the capacity units the target said the operation's
	// requests consumed (surge's Server-Timing rcu and wcu), when it said.
	Capacity *CapacityUnits `json:"capacity,omitempty"`
	// Checks counts the evaluations of a collection's checks on the
	// operation's responses, and ChecksFailed those that failed; Captures
	// counts its captures, and CapturesMissed those that found no value.
	Checks         int64 `json:"checks,omitempty"`
	ChecksFailed   int64 `json:"checksFailed,omitempty"`
	Captures       int64 `json:"captures,omitempty"`
	CapturesMissed int64 `json:"capturesMissed,omitempty"`
}

// CapacityUnits are the DynamoDB capacity units an operation's requests
// consumed, as the target reported them.
type CapacityUnits struct {
	// Read and Write are the units summed over the requests.
	Read  float64 `json:"read"`
	Write float64 `json:"write"`
	// Requests are the responses that reported units; PerRequest is the
	// units of both kinds per such response.
	Requests   int64   `json:"requests"`
	PerRequest float64 `json:"perRequest"`
}

// Spread is p99 over p50 of the latency: how far the tail is from the
// middle (1 for a flat distribution), 0 when there is no p50.
func (o *OpResult) Spread() float64 {
	if o.Latency.P50 <= 0 {
		return 0
	}
	return o.Latency.P99 / o.Latency.P50
}

// Limited returns how many responses of the operation a limit refused
// (429s and 503s that named their source), by source.
func (o *OpResult) Limited() map[string]int64 {
	out := map[string]int64{}
	for _, bySource := range o.StatusSources {
		for src, n := range bySource {
			if src != UnnamedSource {
				out[src] += n
			}
		}
	}
	return out
}

// CheckResult is one check of a collection's request, and how it fared.
type CheckResult struct {
	// Request is the operation's name; Test the pm.test the check is in
	// ("" outside of one); Check what it asserts, such as "status == 201".
	Request string `json:"request"`
	Test    string `json:"test,omitempty"`
	Check   string `json:"check"`
	Passed  int64  `json:"passed"`
	Failed  int64  `json:"failed"`
}

// CaptureResult is one capture of a collection's request, such as
// "collectionVariables.id = body.id", and how often it found its value.
type CaptureResult struct {
	Request  string `json:"request"`
	Variable string `json:"variable"`
	Capture  string `json:"capture"`
	Made     int64  `json:"made"`
	Missed   int64  `json:"missed"`
}

// ServerMetric is one Server-Timing metric's durations as the target
// reported them.
type ServerMetric struct {
	Name  string `json:"name"`
	Stats Stats  `json:"stats"`
	Hist  string `json:"hist"`
}

// Point is one interval of the time series.
type Point struct {
	// T is the interval's end, in seconds since the start.
	T float64 `json:"t"`
	// Offered is the rate the plan asked for in the interval, per second;
	// Rate the completed requests per second.
	Offered  float64 `json:"offered"`
	Rate     float64 `json:"rate"`
	Sent     int64   `json:"sent"`
	Done     int64   `json:"done"`
	Errors   int64   `json:"errors"`
	Late     int64   `json:"late"`
	InFlight int64   `json:"inFlight"`
	// P99 is the latency p99 of all operations in the interval, in ms.
	P99 float64   `json:"p99Ms"`
	Ops []OpPoint `json:"ops"`

	// Statuses counts the interval's responses by status, and
	// StatusSources its 429s and 503s by the limit that refused them.
	Statuses      map[string]int64            `json:"statuses,omitempty"`
	StatusSources map[string]map[string]int64 `json:"statusSources,omitempty"`
	// ColdStarts counts the responses marked X-Cold-Start; Dropped the
	// requests given up past MaxLag.
	ColdStarts *int64 `json:"coldStarts,omitempty"`
	Dropped    *int64 `json:"dropped,omitempty"`
	// CacheHits and CacheMisses count X-Cache: Hit and Miss, when the
	// target sends it.
	CacheHits   *int64 `json:"cacheHits,omitempty"`
	CacheMisses *int64 `json:"cacheMisses,omitempty"`
	// Invocations and Concurrency are the target's own figures (Probe):
	// the function invocations that ran in the interval, and the most
	// concurrent executions.
	Invocations *int64   `json:"invocations,omitempty"`
	Concurrency *float64 `json:"concurrency,omitempty"`
	// Hist is the interval's latency histogram, kept by a part of a split
	// plan for the merge.
	Hist string `json:"hist,omitempty"`
}

// OpPoint is one operation in one interval.
type OpPoint struct {
	Name   string  `json:"name"`
	Count  int64   `json:"count"`
	Errors int64   `json:"errors"`
	P50    float64 `json:"p50Ms"`
	P95    float64 `json:"p95Ms"`
	P99    float64 `json:"p99Ms"`
	Hist   string  `json:"hist,omitempty"`
}

// Preseed tells how the items created before measuring fared.
type Preseed struct {
	Requested int `json:"requested"`
	Created   int `json:"created"`
	Failed    int `json:"failed"`
}

// ClientInfo describes the load generator, so that a reader can tell a
// starved generator from a slow target.
type ClientInfo struct {
	GoVersion  string `json:"goVersion"`
	NumCPU     int    `json:"numCPU"`
	GOMAXPROCS int    `json:"gomaxprocs"`
	// Workers is the most senders the run could use (MaxInFlight in the
	// open model); WorkersUsed how many it woke because the ones running
	// could not keep up.
	Workers     int   `json:"workers"`
	WorkersUsed int   `json:"workersUsed"`
	MaxRSSBytes int64 `json:"maxRSSBytes"`
}

// Op returns the named operation's result, or nil.
func (r *Result) Op(name string) *OpResult {
	for i := range r.Ops {
		if r.Ops[i].Name == name {
			return &r.Ops[i]
		}
	}
	return nil
}

// CheckFailureRate returns the fraction of check evaluations that failed.
func (o *OpResult) CheckFailureRate() float64 {
	if o.Checks == 0 {
		return 0
	}
	return float64(o.ChecksFailed) / float64(o.Checks)
}

// ErrorRate returns the fraction of completed requests that failed.
func (o *OpResult) ErrorRate() float64 {
	if o.Count == 0 {
		return 0
	}
	return float64(o.Errors) / float64(o.Count)
}

// WriteJSON writes the result as indented JSON.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(r); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// WriteFile writes the result as JSON to the file at path.
func (r *Result) WriteFile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	if err := r.WriteJSON(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write result: %w", err)
	}
	return nil
}

// ReadResultFile reads a result from the file at path with ReadResult.
func ReadResultFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	res, err := ReadResult(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return res, nil
}

// maxResultSize bounds a result file read back; an hour-long run's is a
// few megabytes.
const maxResultSize = 256 << 20

// ReadResult reads a result written by WriteJSON, or streamed as the run
// went (StreamSchema; a stream cut short gives a partial result),
// checking its schema and its histograms.
func ReadResult(r io.Reader) (*Result, error) {
	br := bufio.NewReader(r)
	if head, _ := br.Peek(len(streamPrefix)); bytes.Equal(head, streamPrefix) {
		return readStream(br)
	}
	data, err := io.ReadAll(io.LimitReader(br, maxResultSize+1))
	if err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if len(data) > maxResultSize {
		return nil, errors.New("read result: larger than 256 MiB")
	}
	var res Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("read result: %w", err)
	}
	if err := res.check(); err != nil {
		return nil, err
	}
	return &res, nil
}

// check checks a result read back: its schema and its histograms.
func (res *Result) check() error {
	if res.Schema != ResultSchema {
		return fmt.Errorf("read result: schema %q, want %q", res.Schema, ResultSchema)
	}
	check := func(what, h string) error {
		if _, err := DecodeHist(h); err != nil {
			return fmt.Errorf("read result: %s: %w", what, err)
		}
		return nil
	}
	if err := check("lag", res.LagHist); err != nil {
		return err
	}
	for i, t := range res.Thresholds {
		if t.Threshold.Source == "" {
			return fmt.Errorf("read result: threshold %d has no expression", i+1)
		}
	}
	for _, o := range append([]OpResult{res.Total}, res.Ops...) {
		if err := check(o.Name+" latency", o.LatencyHist); err != nil {
			return err
		}
		if err := check(o.Name+" cold latency", o.ColdLatencyHist); err != nil {
			return err
		}
		if err := check(o.Name+" warm latency", o.WarmLatencyHist); err != nil {
			return err
		}
		if err := check(o.Name+" service", o.ServiceHist); err != nil {
			return err
		}
		for _, m := range o.ServerTiming {
			if err := check(o.Name+" "+m.Name, m.Hist); err != nil {
				return err
			}
		}
	}
	for _, p := range res.PayloadLatency {
		if err := check(fmt.Sprintf("%s %s latency", p.Op, ByteSize(p.Size)), p.LatencyHist); err != nil {
			return err
		}
	}
	if err := res.Knee.check(); err != nil {
		return fmt.Errorf("read result: %w", err)
	}
	return nil
}
