package load

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"sort"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// StreamSchema names the version of the streamed form of a result file,
// the one `surge load --out` writes as the run goes, so that a run that is
// killed or crashes keeps everything up to its last interval. It is JSON
// lines, one record a line, each written whole with one write:
//
//	{"schema":"surge.load.stream/v1","record":"start","start":{...}}   the scenario, the start, the machine
//	{"record":"interval","interval":{...}}                            one per interval, in order
//	{"record":"result","result":{...}}                                the whole Result, once the run ended
//
// An interval record holds the interval's point of the time series, each
// operation's figures over the interval (an OpResult, its histograms
// included, so that they add up exactly), and the totals since the start.
// ReadResult reads both forms; a stream without its result record is a
// partial result, rebuilt from its intervals (Result.Partial). Once the
// run has ended, Stream.Finish replaces the stream by the ordinary result
// file, so that what a finished run leaves is one JSON document, as tools
// and scripts read it, a few hundred kilobytes rather than the intervals'
// megabytes; a stream is what a killed run leaves. A change that a reader
// of this version would misread gets a new version.
const StreamSchema = "surge.load.stream/v1"

// streamPrefix starts every stream: the first member of its first line.
var streamPrefix = []byte(`{"schema":"` + StreamSchema + `"`)

// streamRecord is one line of a stream. Schema is on the first only.
type streamRecord struct {
	Schema   string          `json:"schema,omitempty"`
	Record   string          `json:"record"`
	Start    *streamStart    `json:"start,omitempty"`
	Interval *streamInterval `json:"interval,omitempty"`
	Result   *Result         `json:"result,omitempty"`
}

// streamStart is what is known when the run starts.
type streamStart struct {
	Scenario        Scenario   `json:"scenario"`
	Started         time.Time  `json:"started"`
	PlanSeconds     float64    `json:"planSeconds"`
	IntervalSeconds float64    `json:"intervalSeconds"`
	Planned         int64      `json:"planned"`
	Client          ClientInfo `json:"client"`
}

// streamInterval is one interval: its point, its operations, and the
// run's totals at its end.
type streamInterval struct {
	Point Point `json:"point"`
	// Ops are the operations' figures over the interval alone.
	Ops []streamOp `json:"ops"`
	// PayloadLatency is the interval's latency by payload class.
	PayloadLatency []PayloadLatency `json:"payloadLatency,omitempty"`
	// LagHist is the interval's send lag.
	LagHist string `json:"lagHist"`
	// Sent, Due, DroppedLag, BytesOut and BytesIn are totals since the
	// start.
	Sent       int64 `json:"sent"`
	Due        int64 `json:"due"`
	DroppedLag int64 `json:"droppedLag"`
	BytesOut   int64 `json:"bytesOut"`
	BytesIn    int64 `json:"bytesIn"`
	// Target is what the target reported of itself so far.
	Target *TargetResult `json:"target,omitempty"`
}

// streamOp is an operation's figures over one interval as a stream holds
// them: the counts and the histograms, not the summaries that a reader
// computes from them (an OpResult's Stats), which would double its size.
type streamOp struct {
	Name            string                      `json:"name"`
	Count           int64                       `json:"count"`
	Errors          int64                       `json:"errors,omitempty"`
	ColdStarts      int64                       `json:"coldStarts,omitempty"`
	Late            int64                       `json:"late,omitempty"`
	Statuses        map[string]int64            `json:"statuses,omitempty"`
	ErrorKinds      map[string]int64            `json:"errorKinds,omitempty"`
	StatusSources   map[string]map[string]int64 `json:"statusSources,omitempty"`
	ReqBytes        int64                       `json:"reqBodyBytes,omitempty"`
	RespBytes       int64                       `json:"respBodyBytes,omitempty"`
	CacheHits       int64                       `json:"cacheHits,omitempty"`
	CacheMisses     int64                       `json:"cacheMisses,omitempty"`
	Capacity        *CapacityUnits              `json:"capacity,omitempty"`
	LatencyHist     string                      `json:"latencyHist"`
	ServiceHist     string                      `json:"serviceHist"`
	ColdLatencyHist string                      `json:"coldLatencyHist,omitempty"`
	// ServerTiming is each Server-Timing metric's histogram, by name.
	ServerTiming map[string]string `json:"serverTiming,omitempty"`
}

func toStreamOp(o *OpResult) streamOp {
	s := streamOp{Name: o.Name, Count: o.Count, Errors: o.Errors, ColdStarts: o.ColdStarts, Late: o.Late,
		Statuses: o.Statuses, ErrorKinds: o.ErrorKinds, StatusSources: o.StatusSources, ReqBytes: o.ReqBytes,
		RespBytes: o.RespBytes, CacheHits: o.CacheHits, CacheMisses: o.CacheMisses, Capacity: o.Capacity,
		LatencyHist: o.LatencyHist, ServiceHist: o.ServiceHist, ColdLatencyHist: o.ColdLatencyHist}
	for _, m := range o.ServerTiming {
		if s.ServerTiming == nil {
			s.ServerTiming = map[string]string{}
		}
		s.ServerTiming[m.Name] = m.Hist
	}
	return s
}

// opResult returns the operation's figures as an OpResult, without the
// summaries (partialSum computes them from the sums of the histograms).
func (s *streamOp) opResult() OpResult {
	o := OpResult{Name: s.Name, Count: s.Count, Errors: s.Errors, ColdStarts: s.ColdStarts, Late: s.Late,
		Statuses: s.Statuses, ErrorKinds: s.ErrorKinds, StatusSources: s.StatusSources, ReqBytes: s.ReqBytes,
		RespBytes: s.RespBytes, CacheHits: s.CacheHits, CacheMisses: s.CacheMisses, Capacity: s.Capacity,
		LatencyHist: s.LatencyHist, ServiceHist: s.ServiceHist, ColdLatencyHist: s.ColdLatencyHist}
	for name, h := range s.ServerTiming {
		o.ServerTiming = append(o.ServerTiming, ServerMetric{Name: name, Hist: h})
	}
	return o
}

// Stream writes a run's result file as the run goes (WithStream): a
// record when the run starts, one per interval, and the result at the
// end (Finish). Each record reaches the file with one write, so a killed
// process leaves every interval it finished. Its methods are safe on a
// nil Stream, which writes nothing.
type Stream struct {
	mu   sync.Mutex
	f    *os.File
	path string
	err  error
}

// CreateStream creates (or truncates) the result file at path to stream
// a run into.
func CreateStream(path string) (*Stream, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("write result: %w", err)
	}
	return &Stream{f: f, path: path}, nil
}

// WithStream has the run written to s as it goes; a nil s writes nothing.
func WithStream(s *Stream) Option { return func(r *runner) { r.stream = s } }

// write appends one record as one line; after a failure it writes no
// more, and Finish returns the error.
func (s *Stream) write(rec *streamRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil || s.f == nil {
		return
	}
	line, err := json.Marshal(rec)
	if err != nil {
		s.err = fmt.Errorf("write result: %w", err)
		return
	}
	if _, err := s.f.Write(append(line, '\n')); err != nil {
		s.err = fmt.Errorf("write result: %w", err)
	}
}

// Finish replaces the stream by the run's result as an ordinary result
// file (Result.WriteFile's JSON), written beside it and renamed over it,
// so that the file is at every moment a whole stream or a whole result.
// Should the result not be written, the stream keeps it as its last
// record.
func (s *Stream) Finish(res *Result) error {
	if s == nil {
		return nil
	}
	tmp := s.path + ".tmp"
	err := res.WriteFile(tmp)
	if err == nil {
		err = os.Rename(tmp, s.path)
	}
	if err != nil {
		_ = os.Remove(tmp)
		s.write(&streamRecord{Record: "result", Result: res})
	}
	return s.Close()
}

// Close closes the file without a result record: what it holds reads as
// a partial result. It returns the first error of any write.
func (s *Stream) Close() error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.f == nil {
		return s.err
	}
	err := s.f.Close()
	s.f = nil
	if s.err == nil && err != nil {
		s.err = fmt.Errorf("write result: %w", err)
	}
	return s.err
}

// streamStarted writes the start record.
func (r *runner) streamStarted(started time.Time) {
	st := &streamStart{Scenario: redacted(r.s), Started: started.UTC(), PlanSeconds: r.planEnd.Seconds(),
		IntervalSeconds: r.interval.Seconds(),
		Client:          ClientInfo{GoVersion: runtime.Version(), NumCPU: runtime.NumCPU(), GOMAXPROCS: runtime.GOMAXPROCS(0), Workers: r.workers}}
	if r.s.Model == ModelOpen {
		st.Planned = r.pacer.limit
	} else if r.limit != math.MaxInt64 {
		st.Planned = r.limit
	}
	r.stream.write(&streamRecord{Schema: StreamSchema, Record: "start", Start: st})
}

// streamInterval writes the interval that ends at now, before the
// collector adds it to the totals.
func (c *collector) streamInterval(p Point, now time.Duration, sent int64) {
	r := c.r
	iv := &streamInterval{Point: p, Ops: []streamOp{}, Sent: sent, Due: sent, DroppedLag: r.pacer.droppedLag.Load(),
		BytesOut: r.wire.out.Load(), BytesIn: r.wire.in.Load()}
	iv.Point.Hist = ""
	iv.Point.Ops = nil // as the result's point has none when no operation ended
	if len(p.Ops) > 0 {
		iv.Point.Ops = make([]OpPoint, len(p.Ops))
	}
	for i, o := range p.Ops {
		o.Hist = ""
		iv.Point.Ops[i] = o
	}
	if r.s.Model == ModelOpen {
		iv.Due = max(min(r.pacer.limit, r.sched.CountAt(now)), sent+iv.DroppedLag)
	}
	iv.LagHist, _ = EncodeHist(c.interval.lag)
	for i, m := range c.interval.ops {
		if m == nil || m.count == 0 {
			continue
		}
		o := opResult(r.names[i], m)
		iv.Ops = append(iv.Ops, toStreamOp(&o))
		iv.PayloadLatency = append(iv.PayloadLatency, payloadOf(&r.s, r.names[i], m)...)
	}
	if r.ps != nil {
		t := r.ps.res
		iv.Target = &t
	}
	r.stream.write(&streamRecord{Record: "interval", Interval: iv})
}

// payloadOf returns an operation's latency by payload class.
func payloadOf(s *Scenario, name string, m *opMetrics) []PayloadLatency {
	var out []PayloadLatency
	for k, h := range m.payload {
		if h == nil || h.TotalCount() == 0 || k >= len(s.Payloads) {
			continue
		}
		enc, _ := EncodeHist(h)
		out = append(out, PayloadLatency{Op: name, Size: int64(s.Payloads[k].Size), Latency: statsOf(h), LatencyHist: enc})
	}
	return out
}

// maxStreamLine bounds one record of a stream; maxStreamSize the whole
// stream, which the reader goes through a line at a time.
const (
	maxStreamLine = 64 << 20
	maxStreamSize = 4 << 30
)

// readStream reads a streamed result: its result record when it has one,
// else the partial result its intervals add up to.
func readStream(r io.Reader) (*Result, error) {
	br := bufio.NewReaderSize(io.LimitReader(r, maxStreamSize), 64<<10)
	var (
		start *streamStart
		final *Result
		ps    *partialSum
		n     int
	)
	for {
		line, err := readLine(br)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read result: line %d: %w", n+1, err)
		}
		n++
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if final != nil {
			return nil, fmt.Errorf("read result: line %d follows the result record", n)
		}
		var rec streamRecord
		if err := json.Unmarshal(line, &rec); err != nil {
			if len(line) > 0 && line[len(line)-1] != '\n' {
				break // the last line, cut short as the process died: the intervals before it stand
			}
			return nil, fmt.Errorf("read result: line %d: %w", n, err)
		}
		switch {
		case n == 1 && (rec.Schema != StreamSchema || rec.Record != "start" || rec.Start == nil):
			return nil, fmt.Errorf("read result: a stream starts with its %s start record", StreamSchema)
		case n == 1:
			start = rec.Start
			ps = newPartialSum(start)
		case rec.Record == "interval" && rec.Interval != nil:
			if err := ps.add(rec.Interval); err != nil {
				return nil, fmt.Errorf("read result: line %d: %w", n, err)
			}
		case rec.Record == "result" && rec.Result != nil:
			final = rec.Result
		default:
			return nil, fmt.Errorf("read result: line %d: record %q", n, rec.Record)
		}
	}
	if start == nil {
		return nil, errors.New("read result: empty stream")
	}
	if final != nil {
		if err := final.check(); err != nil {
			return nil, err
		}
		return final, nil
	}
	res := ps.result()
	if err := res.check(); err != nil {
		return nil, err
	}
	return res, nil
}

// readLine reads one line, its newline kept (absent on a last line cut
// short), of at most maxStreamLine bytes.
func readLine(br *bufio.Reader) ([]byte, error) {
	var line []byte
	for {
		chunk, err := br.ReadSlice('\n')
		line = append(line, chunk...)
		if len(line) > maxStreamLine {
			return nil, errors.New("a record larger than 64 MiB")
		}
		switch {
		case err == nil:
			return line, nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF) && len(line) > 0:
			return line, nil
		default:
			return nil, err
		}
	}
}

// partialSum adds a stream's intervals up into the result of the run so
// far.
type partialSum struct {
	res   *Result
	ops   map[string]*opSum
	order []string
	total *opSum
	lag   *hdr.Histogram
	extra mergeExtra
	units map[string]*CapacityUnits
	last  *streamInterval
}

func newPartialSum(st *streamStart) *partialSum {
	return &partialSum{ops: map[string]*opSum{}, units: map[string]*CapacityUnits{}, total: newOpSum("all"), lag: newHist(),
		res: &Result{Schema: ResultSchema, Scenario: st.Scenario, Started: st.Started, PlanSeconds: st.PlanSeconds,
			Planned: st.Planned, Client: st.Client, Stop: "partial", Partial: true, Series: []Point{}}}
}

func (s *partialSum) add(iv *streamInterval) error {
	if len(s.res.Series) >= 10_000_000 {
		return errors.New("too many intervals")
	}
	if err := addHist(s.lag, iv.LagHist, "lag"); err != nil {
		return err
	}
	for i := range iv.Ops {
		op := iv.Ops[i].opResult()
		o := &op
		sum, ok := s.ops[o.Name]
		if !ok {
			sum = newOpSum(o.Name)
			s.ops[o.Name] = sum
			s.order = append(s.order, o.Name)
		}
		if err := sum.add(o); err != nil {
			return err
		}
		if err := s.total.add(o); err != nil {
			return err
		}
		if c := o.Capacity; c != nil {
			for _, name := range []string{o.Name, "all"} {
				u := s.units[name]
				if u == nil {
					u = &CapacityUnits{}
					s.units[name] = u
				}
				u.Read, u.Write, u.Requests = u.Read+c.Read, u.Write+c.Write, u.Requests+c.Requests
			}
		}
	}
	if err := s.extra.add(&Result{PayloadLatency: iv.PayloadLatency}); err != nil {
		return err
	}
	s.res.Series = append(s.res.Series, iv.Point)
	s.res.Late += iv.Point.Late
	s.last = iv
	return nil
}

// result is the run up to its last interval.
func (s *partialSum) result() *Result {
	out := s.res
	if iv := s.last; iv != nil {
		out.ElapsedSeconds = iv.Point.T
		out.Sent, out.Due, out.DroppedLag = iv.Sent, max(iv.Due, iv.Sent), iv.DroppedLag
		// Requests due and not yet sent when the file ends may still have
		// gone out: only those given up count as dropped.
		out.Dropped = iv.DroppedLag
		out.BytesOut, out.BytesIn = iv.BytesOut, iv.BytesIn
	}
	out.Lag = statsOf(s.lag)
	out.LagHist, _ = EncodeHist(s.lag)
	out.Total = s.total.result()
	s.extra.result(out)
	out.Target = nil
	if s.last != nil {
		out.Target = s.last.Target
	}
	sort.SliceStable(s.order, func(i, j int) bool { return opRank(s.order[i]) < opRank(s.order[j]) })
	out.Ops = []OpResult{}
	for _, name := range s.order {
		out.Ops = append(out.Ops, s.ops[name].result())
	}
	for _, o := range append([]*OpResult{&out.Total}, opPtrs(out.Ops)...) {
		if u := s.units[o.Name]; u != nil && u.Requests > 0 {
			u.PerRequest = (u.Read + u.Write) / float64(u.Requests)
			o.Capacity = u
		}
	}
	if out.ElapsedSeconds > 0 {
		out.OfferedRate = float64(out.Due) / out.ElapsedSeconds
		out.AchievedRate = float64(out.Total.Count) / out.ElapsedSeconds
	}
	out.Thresholds, _ = out.Scenario.Thresholds.Eval(out)
	return out
}

func opPtrs(ops []OpResult) []*OpResult {
	out := make([]*OpResult, len(ops))
	for i := range ops {
		out[i] = &ops[i]
	}
	return out
}
