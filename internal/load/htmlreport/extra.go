package htmlreport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/surgehq/surge/internal/load"
)

// Extra is the optional data of a run that load.Result does not carry
// yet: the series and distributions some charts need. Its JSON form is
// the shape those members take in a result file, beside load.Result's own
// members (see the package documentation), so that the load tester adds
// them to load.Result under these names and the report draws them with
// no change here. A chart whose data is absent is replaced by a sentence
// saying so.
type Extra struct {
	// Series has an entry per interval, matched to the result's Series
	// by T. A member is present for the run when any interval carries it;
	// an interval without it counts zero.
	Series []PointExtra `json:"series,omitempty"`
	// Ops has an entry per operation, matched to the result's Ops by Name
	// ("all" for every operation together).
	Ops []OpExtra `json:"ops,omitempty"`
	// PayloadLatency is the latency of each payload size class.
	PayloadLatency []PayloadLatency `json:"payloadLatency,omitempty"`
	// Knee is the throughput at the knee of the latency curve, where the
	// run found one.
	Knee *Knee `json:"knee,omitempty"`
	// Cost is what the run cost on the target's price list.
	Cost *Cost `json:"cost,omitempty"`
	// Partial says the result stops before the run's end: the run was
	// killed or crashed and the file holds its intervals up to the last.
	Partial bool `json:"partial,omitempty"`
}

// PointExtra is the optional data of one interval. Counts are of the
// interval (the chart divides them by its length); pointers tell a count
// the target reported as zero from one it did not report.
type PointExtra struct {
	// T is the interval's end in seconds since the start, as in load.Point.
	T float64 `json:"t"`
	// Statuses counts responses by status code in the interval.
	Statuses map[string]int64 `json:"statuses,omitempty"`
	// StatusSources splits statuses by the part that answered them: for
	// example {"429": {"gateway": 12, "function": 3}, "503": {"pool": 5}}
	// (a throttle of API Gateway against a Lambda's concurrency limit).
	StatusSources map[string]map[string]int64 `json:"statusSources,omitempty"`
	// ColdStarts counts responses marked X-Cold-Start: true.
	ColdStarts *int64 `json:"coldStarts,omitempty"`
	// Dropped counts requests due in the interval and never sent.
	Dropped *int64 `json:"dropped,omitempty"`
	// CacheHits and CacheMisses count responses of the response cache
	// (X-Cache: Hit or Miss).
	CacheHits   *int64 `json:"cacheHits,omitempty"`
	CacheMisses *int64 `json:"cacheMisses,omitempty"`
	// Invocations counts the function invocations the target reported.
	Invocations *int64 `json:"invocations,omitempty"`
	// Concurrency is the target's concurrent executions (the most in the
	// interval, as CloudWatch's ConcurrentExecutions maximum).
	Concurrency *float64 `json:"concurrency,omitempty"`
}

// OpExtra is the optional data of one operation.
type OpExtra struct {
	Name string `json:"name"`
	// ColdLatencyHist and WarmLatencyHist split the operation's latency
	// histogram (load.EncodeHist's form) between responses of a freshly
	// started instance and the others.
	ColdLatencyHist string `json:"coldLatencyHist,omitempty"`
	WarmLatencyHist string `json:"warmLatencyHist,omitempty"`
}

// PayloadLatency is the latency of the requests of one payload size class.
type PayloadLatency struct {
	// Op is the operation, or "" for all of them.
	Op string `json:"op,omitempty"`
	// Size is the class's body size in bytes (load.PayloadClass.Size).
	Size int64 `json:"size"`
	// LatencyHist is the histogram of their latency (load.EncodeHist).
	LatencyHist string `json:"latencyHist"`
}

// Knee is the throughput past which latency grows out of proportion.
type Knee struct {
	// Rate is the achieved rate at the knee, per second.
	Rate float64 `json:"rate"`
	// P99Ms is the p99 latency there, in milliseconds.
	P99Ms float64 `json:"p99Ms,omitempty"`
	// Note says how it was found.
	Note string `json:"note,omitempty"`
}

// Cost is a run's cost on a price list.
type Cost struct {
	// Currency is an ISO 4217 code such as "USD".
	Currency string `json:"currency"`
	// Total is the cost of the whole run.
	Total float64 `json:"total"`
	// PerMillion is the cost of a million requests.
	PerMillion float64 `json:"perMillion,omitempty"`
	// Parts break the total down, such as Lambda, API Gateway, DynamoDB.
	Parts []CostPart `json:"parts,omitempty"`
}

// CostPart is one line of a Cost.
type CostPart struct {
	Name   string  `json:"name"`
	Amount float64 `json:"amount"`
}

// maxExtraSize bounds the JSON ReadExtra reads, as load.ReadResult does.
const maxExtraSize = 256 << 20

// ReadExtra reads the optional members of a result file (the JSON a run
// wrote, or any document of the same shape). A file without them gives an
// empty Extra; histograms are checked as load.ReadResult checks its own.
func ReadExtra(r io.Reader) (*Extra, error) {
	data, err := io.ReadAll(io.LimitReader(r, maxExtraSize+1))
	if err != nil {
		return nil, fmt.Errorf("read extra: %w", err)
	}
	if len(data) > maxExtraSize {
		return nil, errors.New("read extra: larger than 256 MiB")
	}
	var x Extra
	if err := json.Unmarshal(data, &x); err != nil {
		return nil, fmt.Errorf("read extra: %w", err)
	}
	if err := x.check(); err != nil {
		return nil, fmt.Errorf("read extra: %w", err)
	}
	return &x, nil
}

func (x *Extra) check() error {
	hist := func(what, h string) error {
		if h == "" {
			return nil
		}
		if _, err := load.DecodeHist(h); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	for _, o := range x.Ops {
		if err := hist(o.Name+" cold latency", o.ColdLatencyHist); err != nil {
			return err
		}
		if err := hist(o.Name+" warm latency", o.WarmLatencyHist); err != nil {
			return err
		}
	}
	for _, p := range x.PayloadLatency {
		if err := hist(fmt.Sprintf("payload %d latency", p.Size), p.LatencyHist); err != nil {
			return err
		}
	}
	return nil
}

// extraOf returns the optional data of r: the explicit one when given,
// else the members of that shape that r's own JSON form carries (none
// until load.Result grows them).
func extraOf(r *load.Result, explicit *Extra) (*Extra, error) {
	if explicit != nil {
		return explicit, nil
	}
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(r); err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return ReadExtra(&buf)
}

// has reports whether any interval carries the member get picks.
func has[T any](x *Extra, get func(*PointExtra) *T) bool {
	for i := range x.Series {
		if get(&x.Series[i]) != nil {
			return true
		}
	}
	return false
}

func (x *Extra) op(name string) *OpExtra {
	for i := range x.Ops {
		if x.Ops[i].Name == name {
			return &x.Ops[i]
		}
	}
	return nil
}
