package load

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
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
	// Stop says why the run ended: "completed", "interrupted" or "count".
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
}

// OpPoint is one operation in one interval.
type OpPoint struct {
	Name   string  `json:"name"`
	Count  int64   `json:"count"`
	Errors int64   `json:"errors"`
	P50    float64 `json:"p50Ms"`
	P95    float64 `json:"p95Ms"`
	P99    float64 `json:"p99Ms"`
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

// maxResultSize bounds a result file read back; an hour-long run's is a
// few megabytes.
const maxResultSize = 256 << 20

// ReadResult reads a result written by WriteJSON, checking its schema and
// its histograms.
func ReadResult(r io.Reader) (*Result, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxResultSize+1))
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
	if res.Schema != ResultSchema {
		return nil, fmt.Errorf("read result: schema %q, want %q", res.Schema, ResultSchema)
	}
	check := func(what, h string) error {
		if _, err := DecodeHist(h); err != nil {
			return fmt.Errorf("read result: %s: %w", what, err)
		}
		return nil
	}
	if err := check("lag", res.LagHist); err != nil {
		return nil, err
	}
	for _, o := range append([]OpResult{res.Total}, res.Ops...) {
		if err := check(o.Name+" latency", o.LatencyHist); err != nil {
			return nil, err
		}
		if err := check(o.Name+" service", o.ServiceHist); err != nil {
			return nil, err
		}
		for _, m := range o.ServerTiming {
			if err := check(o.Name+" "+m.Name, m.Hist); err != nil {
				return nil, err
			}
		}
	}
	return &res, nil
}
