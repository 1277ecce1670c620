package load

import (
	"bytes"
	"compress/zlib"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	hdr "github.com/HdrHistogram/hdrhistogram-go"
)

// Histograms hold microseconds from 1µs to one hour with three significant
// digits: an error of at most 0.1%, in about 190 KB each, however many
// values they record.
const (
	histMin    = 1
	histMax    = int64(time.Hour / time.Microsecond)
	histDigits = 3
)

func newHist() *hdr.Histogram { return hdr.New(histMin, histMax, histDigits) }

// recordDur records d in microseconds, clamped to the histogram's range so
// that no value is ever lost (a value past an hour counts as an hour).
func recordDur(h *hdr.Histogram, d time.Duration) {
	v := int64(d / time.Microsecond)
	if v < 0 {
		v = 0
	}
	if v > histMax {
		v = histMax
	}
	_ = h.RecordValue(v) // in range by construction
}

// ErrKind classifies a request that got no HTTP response.
type ErrKind uint8

// The kinds of transport errors.
const (
	ErrTimeout  ErrKind = iota // no response within the timeout
	ErrRefused                 // the connection was refused
	ErrClosed                  // the connection was closed or reset mid-request
	ErrDial                    // the connection could not be made otherwise
	ErrTLS                     // the TLS handshake failed
	ErrCanceled                // the run stopped while the request was out
	ErrOther                   // anything else
	numErrKinds
)

var errKindNames = [numErrKinds]string{"timeout", "refused", "closed", "dial", "tls", "canceled", "other"}

// String names the kind as reports show it.
func (k ErrKind) String() string {
	if k < numErrKinds {
		return errKindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// maxTimingNames bounds the Server-Timing metric names kept per operation:
// the names come from the target, and a target that invents a new one per
// response must not grow memory. Names past the bound count as "other".
const maxTimingNames = 16

// maxStatus bounds the status codes counted one by one; others count as 0.
const maxStatus = 600

// maxSourceNames bounds the limit sources kept per operation, as
// maxTimingNames bounds timing names: the names come from the target.
// Sources past the bound count as "other".
const maxSourceNames = 16

// maxPayloadClasses bounds the payload size classes whose latency is kept
// apart; the requests of further classes count only in the totals.
const maxPayloadClasses = 16

// limitKey is a refused response's status and the limit its
// X-Limit-Source named.
type limitKey struct {
	status int
	source string
}

// opMetrics are the measurements of one operation: in a shard (where
// workers record), in the interval being collected, or for the whole run.
type opMetrics struct {
	lat       *hdr.Histogram // from the intended send time
	svc       *hdr.Histogram // from the actual send
	count     int64          // requests that completed, with a response or an error
	errors    int64          // transport errors and error statuses
	cold      int64          // responses with X-Cold-Start: true
	late      int64          // requests sent late
	reqBytes  int64          // request body bytes
	respBytes int64          // response body bytes
	status    [maxStatus]int64
	kinds     [numErrKinds]int64
	timing    map[string]*hdr.Histogram // Server-Timing metric -> µs
	// rcu and wcu sum the capacity units the target reported
	// (Server-Timing rcu;desc=N, wcu;desc=N), and units counts the
	// responses that reported any.
	rcu, wcu float64
	units    int64
	// coldLat is the latency of the responses marked cold, allocated on
	// the first: the rest of lat is the warm ones.
	coldLat *hdr.Histogram
	// hits and misses count X-Cache: Hit and Miss.
	hits, misses int64
	// sources counts 429s and 503s by the limit that refused them.
	sources map[limitKey]int64
	// payload is the latency by payload class (request.class - 1),
	// allocated on a class's first request.
	payload [maxPayloadClasses]*hdr.Histogram
}

func newOpMetrics() *opMetrics {
	return &opMetrics{lat: newHist(), svc: newHist(), timing: map[string]*hdr.Histogram{}}
}

// mergeHist merges src into *dst, allocating *dst when src has values.
func mergeHist(dst **hdr.Histogram, src *hdr.Histogram) {
	if src == nil || src.TotalCount() == 0 {
		return
	}
	if *dst == nil {
		*dst = newHist()
	}
	(*dst).Merge(src)
}

func (m *opMetrics) merge(o *opMetrics) {
	m.lat.Merge(o.lat)
	m.svc.Merge(o.svc)
	m.count += o.count
	m.errors += o.errors
	m.cold += o.cold
	m.late += o.late
	m.reqBytes += o.reqBytes
	m.respBytes += o.respBytes
	for i, v := range o.status {
		m.status[i] += v
	}
	for i, v := range o.kinds {
		m.kinds[i] += v
	}
	m.rcu += o.rcu
	m.wcu += o.wcu
	m.units += o.units
	for name, h := range o.timing {
		if h.TotalCount() == 0 {
			continue
		}
		dst, ok := m.timing[name]
		if !ok {
			dst = newHist()
			m.timing[name] = dst
		}
		dst.Merge(h)
	}
	mergeHist(&m.coldLat, o.coldLat)
	m.hits += o.hits
	m.misses += o.misses
	for k, n := range o.sources {
		if n == 0 {
			continue
		}
		if m.sources == nil {
			m.sources = map[limitKey]int64{}
		}
		m.sources[k] += n
	}
	for i, h := range o.payload {
		mergeHist(&m.payload[i], h)
	}
}

func (m *opMetrics) reset() {
	m.lat.Reset()
	m.svc.Reset()
	m.count, m.errors, m.cold, m.late, m.reqBytes, m.respBytes = 0, 0, 0, 0, 0, 0
	m.rcu, m.wcu, m.units = 0, 0, 0
	m.status = [maxStatus]int64{}
	m.kinds = [numErrKinds]int64{}
	for _, h := range m.timing {
		h.Reset()
	}
	if m.coldLat != nil {
		m.coldLat.Reset()
	}
	m.hits, m.misses = 0, 0
	clear(m.sources)
	for _, h := range m.payload {
		if h != nil {
			h.Reset()
		}
	}
}

// sample is one finished request as a worker reports it.
type sample struct {
	intended, sent, done time.Duration
	status               int
	failed               bool // a transport error: no status
	kind                 ErrKind
	isErr                bool
	cold                 bool
	late                 bool
	reqBytes, respBytes  int
	timing               []byte // the Server-Timing header, if any
	cache                cacheResult
	limitSource          []byte // X-Limit-Source of a 429 or 503
	class                int    // payload class + 1, 0 for none
}

// shard is where a group of workers records. Workers lock it for a few
// tens of nanoseconds per request; the collector locks it once a second to
// move its contents out. Several shards keep workers on different cores
// from contending.
type shard struct {
	mu  sync.Mutex
	ops []*opMetrics   // by Op
	lag *hdr.Histogram // send lag: actual send minus intended, µs
	_   [64]byte       // keep neighbouring shards' locks off one cache line
}

func newShard(ops int) *shard { return &shard{ops: make([]*opMetrics, ops), lag: newHist()} }

func (s *shard) record(op Op, x *sample) {
	s.mu.Lock()
	m := s.ops[op]
	if m == nil {
		m = newOpMetrics()
		s.ops[op] = m
	}
	lat := x.done - x.intended
	recordDur(m.lat, lat)
	recordDur(m.svc, x.done-x.sent)
	recordDur(s.lag, x.sent-x.intended)
	m.count++
	if x.isErr {
		m.errors++
	}
	if x.failed {
		m.kinds[x.kind]++
	} else if x.status > 0 && x.status < maxStatus {
		m.status[x.status]++
	} else {
		m.status[0]++
	}
	if x.cold {
		m.cold++
		if m.coldLat == nil {
			m.coldLat = newHist()
		}
		recordDur(m.coldLat, lat)
	}
	switch x.cache {
	case cacheHit:
		m.hits++
	case cacheMiss:
		m.misses++
	}
	if !x.failed && (x.status == 429 || x.status == 503) {
		m.countSource(x.status, x.limitSource)
	}
	if c := x.class - 1; c >= 0 && c < maxPayloadClasses {
		if m.payload[c] == nil {
			m.payload[c] = newHist()
		}
		recordDur(m.payload[c], lat)
	}
	if x.late {
		m.late++
	}
	m.reqBytes += int64(x.reqBytes)
	m.respBytes += int64(x.respBytes)
	if len(x.timing) > 0 {
		counted := false
		ParseServerTiming(x.timing, func(name []byte, dur float64, ok bool) {
			if !ok {
				switch string(name) {
				case "rcu":
					m.rcu += dur
					counted = true
				case "wcu":
					m.wcu += dur
					counted = true
				}
				return
			}
			h, found := m.timing[string(name)]
			if !found {
				key := string(name)
				if len(m.timing) >= maxTimingNames {
					key = "other"
				}
				if h, found = m.timing[key]; !found {
					h = newHist()
					m.timing[key] = h
				}
			}
			recordDur(h, time.Duration(dur*float64(time.Millisecond)))
		})
		if counted {
			m.units++
		}
	}
	s.mu.Unlock()
}

// countSource counts a refusal by the limit the response named, keeping
// at most maxSourceNames names.
func (m *opMetrics) countSource(status int, name []byte) {
	if m.sources == nil {
		m.sources = map[limitKey]int64{}
	}
	src := UnnamedSource
	if len(name) > 0 {
		src = string(name)
	}
	k := limitKey{status, src}
	if _, ok := m.sources[k]; !ok && len(m.sources) >= maxSourceNames {
		k.source = "other"
	}
	m.sources[k]++
}

// aggregate is a set of per-operation metrics and the send lag: an
// interval's or a whole run's.
type aggregate struct {
	ops []*opMetrics // by Op
	lag *hdr.Histogram
}

func newAggregate(ops int) *aggregate {
	return &aggregate{ops: make([]*opMetrics, ops), lag: newHist()}
}

// drain moves a shard's contents into a and empties the shard.
func (a *aggregate) drain(s *shard) {
	s.mu.Lock()
	for i, m := range s.ops {
		if m == nil || m.count == 0 {
			continue
		}
		if a.ops[i] == nil {
			a.ops[i] = newOpMetrics()
		}
		a.ops[i].merge(m)
		m.reset()
	}
	a.lag.Merge(s.lag)
	s.lag.Reset()
	s.mu.Unlock()
}

func (a *aggregate) merge(b *aggregate) {
	for i, m := range b.ops {
		if m == nil || m.count == 0 {
			continue
		}
		if a.ops[i] == nil {
			a.ops[i] = newOpMetrics()
		}
		a.ops[i].merge(m)
	}
	a.lag.Merge(b.lag)
}

func (a *aggregate) reset() {
	for _, m := range a.ops {
		if m != nil {
			m.reset()
		}
	}
	a.lag.Reset()
}

// all returns the metrics of every operation merged.
func (a *aggregate) all() *opMetrics {
	t := newOpMetrics()
	for _, m := range a.ops {
		if m != nil {
			t.merge(m)
		}
	}
	return t
}

// Stats summarise a distribution of durations, in milliseconds.
type Stats struct {
	Count  int64   `json:"count"`
	Min    float64 `json:"minMs"`
	Mean   float64 `json:"avgMs"`
	Stddev float64 `json:"stddevMs"`
	P50    float64 `json:"p50Ms"`
	P90    float64 `json:"p90Ms"`
	P95    float64 `json:"p95Ms"`
	P99    float64 `json:"p99Ms"`
	P999   float64 `json:"p999Ms"`
	Max    float64 `json:"maxMs"`
}

func usToMs(v float64) float64 { return math.Round(v) / 1000 }

// statsOf summarises a histogram of microseconds.
func statsOf(h *hdr.Histogram) Stats {
	if h == nil || h.TotalCount() == 0 {
		return Stats{}
	}
	return Stats{
		Count:  h.TotalCount(),
		Min:    usToMs(float64(h.Min())),
		Mean:   usToMs(h.Mean()),
		Stddev: usToMs(h.StdDev()),
		P50:    usToMs(float64(h.ValueAtQuantile(50))),
		P90:    usToMs(float64(h.ValueAtQuantile(90))),
		P95:    usToMs(float64(h.ValueAtQuantile(95))),
		P99:    usToMs(float64(h.ValueAtQuantile(99))),
		P999:   usToMs(float64(h.ValueAtQuantile(99.9))),
		Max:    usToMs(float64(h.Max())),
	}
}

// zlibWriters keep EncodeHist's compressors: a new one allocates about
// 1 MB, and the live stream encodes several histograms every interval.
var zlibWriters = sync.Pool{New: func() any { return zlib.NewWriter(nil) }}

// EncodeHist encodes a histogram in HdrHistogram's compressed V2 form,
// base64, which any HdrHistogram implementation reads. It writes the form
// itself: the library's encoder makes a reflective binary.Write call per
// bucket, a thousand times slower.
func EncodeHist(h *hdr.Histogram) (string, error) {
	counts := h.Export().Counts
	end := len(counts)
	for end > 0 && counts[end-1] == 0 {
		end--
	}
	payload := make([]byte, 0, 256)
	for i := 0; i < end; {
		if counts[i] == 0 {
			j := i
			for j < end && counts[j] == 0 {
				j++
			}
			if j-i > 1 {
				payload = appendZigZag(payload, -int64(j-i))
				i = j
				continue
			}
		}
		payload = appendZigZag(payload, counts[i])
		i++
	}
	var raw bytes.Buffer
	var head [40]byte
	binary.BigEndian.PutUint32(head[0:], uint32(hdr.V2EncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(head[4:], uint32(len(payload)))
	binary.BigEndian.PutUint32(head[8:], 0) // normalizing index offset
	binary.BigEndian.PutUint32(head[12:], uint32(h.SignificantFigures()))
	binary.BigEndian.PutUint64(head[16:], uint64(h.LowestTrackableValue()))
	binary.BigEndian.PutUint64(head[24:], uint64(h.HighestTrackableValue()))
	binary.BigEndian.PutUint64(head[32:], math.Float64bits(1))
	raw.Write(head[:])
	raw.Write(payload)
	var z bytes.Buffer
	zw := zlibWriters.Get().(*zlib.Writer)
	defer zlibWriters.Put(zw)
	zw.Reset(&z)
	if _, err := zw.Write(raw.Bytes()); err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("encode histogram: %w", err)
	}
	out := make([]byte, 8, 8+z.Len())
	binary.BigEndian.PutUint32(out[0:], uint32(hdr.V2CompressedEncodingCookieBase|0x10))
	binary.BigEndian.PutUint32(out[4:], uint32(z.Len()))
	out = append(out, z.Bytes()...)
	return base64.StdEncoding.EncodeToString(out), nil
}

// appendZigZag appends v as HdrHistogram's ZigZag LEB128 (at most 9
// bytes, the ninth holding 8 bits).
func appendZigZag(b []byte, v int64) []byte {
	u := uint64(v<<1) ^ uint64(v>>63)
	for range 8 {
		if u < 0x80 {
			return append(b, byte(u))
		}
		b = append(b, byte(u&0x7f|0x80))
		u >>= 7
	}
	return append(b, byte(u))
}

// DecodeHist reads a histogram written by EncodeHist. The input may come
// from a file anyone wrote, so it is checked before HdrHistogram's decoder
// sees it: bounded sizes, and exactly the range and precision surge
// records with, so a crafted header cannot ask for gigabytes.
func DecodeHist(s string) (h *hdr.Histogram, err error) {
	if s == "" {
		return newHist(), nil
	}
	if len(s) > 8<<20 {
		return nil, errors.New("decode histogram: larger than 8 MiB")
	}
	raw, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	if len(raw) < 8 || int32(binary.BigEndian.Uint32(raw))&^0xf0 != hdr.V2CompressedEncodingCookieBase {
		return nil, errors.New("decode histogram: not a compressed V2 HdrHistogram")
	}
	n := int64(binary.BigEndian.Uint32(raw[4:]))
	if n < 0 || n > int64(len(raw)-8) {
		return nil, errors.New("decode histogram: truncated")
	}
	z, err := zlib.NewReader(bytes.NewReader(raw[8 : 8+n]))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	body, err := io.ReadAll(io.LimitReader(z, 16<<20+1))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	if len(body) > 16<<20 {
		return nil, errors.New("decode histogram: expands past 16 MiB")
	}
	if len(body) < 40 {
		return nil, errors.New("decode histogram: truncated header")
	}
	digits := int32(binary.BigEndian.Uint32(body[12:]))
	lowest := int64(binary.BigEndian.Uint64(body[16:]))
	highest := int64(binary.BigEndian.Uint64(body[24:]))
	if digits != histDigits || lowest != histMin || highest != histMax {
		return nil, fmt.Errorf("decode histogram: range %d..%d with %d digits, want %d..%d with %d",
			lowest, highest, digits, histMin, histMax, histDigits)
	}
	defer func() {
		// The payload can still point past the counts; HdrHistogram's
		// decoder indexes without checking.
		if r := recover(); r != nil {
			h, err = nil, fmt.Errorf("decode histogram: malformed counts (%v)", r)
		}
	}()
	h, err = hdr.Decode([]byte(s))
	if err != nil {
		return nil, fmt.Errorf("decode histogram: %w", err)
	}
	return h, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// subtractHist returns a - b, bucket by bucket, for histograms of the same
// range where b's values are a subset of a's; nil when nothing is left.
func subtractHist(a, b *hdr.Histogram) *hdr.Histogram {
	sa, sb := a.Export(), b.Export()
	if len(sb.Counts) > len(sa.Counts) {
		return nil
	}
	counts := make([]int64, len(sa.Counts))
	var total int64
	for i, n := range sa.Counts {
		if i < len(sb.Counts) {
			n -= sb.Counts[i]
		}
		counts[i] = max(n, 0)
		total += counts[i]
	}
	if total == 0 {
		return nil
	}
	sa.Counts = counts
	return hdr.Import(sa)
}
