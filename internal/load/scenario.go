package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Models of load.
const (
	// ModelOpen sends requests at planned times whatever the target does
	// (arrival rate): the model of real users, and the default.
	ModelOpen = "open"
	// ModelClosed runs virtual users that each wait for a response before
	// sending the next request: the model of wrk and hey.
	ModelClosed = "closed"
)

// Clients are the HTTP client implementations a run may use.
const (
	// ClientFast is fasthttp: HTTP/1.1 with keep-alive, the lean default.
	ClientFast = "fasthttp"
	// ClientStd is net/http, which also speaks HTTP/2.
	ClientStd = "nethttp"
)

// Distributions by which reads, updates and deletes pick ids from the pool.
const (
	DistUniform = "uniform"
	DistZipf    = "zipf"
)

// Where a create response carries the new item's id.
const (
	IDFromJSON     = "json"
	IDFromLocation = "location"
)

// Scenario is the whole description of a run: plain data, read from YAML,
// overridden by flags, checked by Validate. Durations are Go durations
// ("30s", "2m"); in the JSON result they are nanoseconds.
type Scenario struct {
	// Target is the base URL of the service under test, such as
	// http://127.0.0.1:8080 or an API Gateway stage URL.
	Target string `yaml:"target" json:"target"`
	// Model is ModelOpen (rate) or ModelClosed (virtual users).
	Model string `yaml:"model" json:"model"`

	// Preset names a shape of load (see Presets), scaled by Rate (or VUs)
	// as its peak and by Duration. It is ignored when Stages are given.
	Preset string `yaml:"preset,omitempty" json:"preset,omitempty"`
	// Rate is the peak rate in requests per second for the open model.
	Rate float64 `yaml:"rate" json:"rate"`
	// VUs is the peak number of virtual users for the closed model.
	VUs int `yaml:"vus" json:"vus"`
	// Duration is the length of a preset.
	Duration time.Duration `yaml:"duration" json:"duration"`
	// StartRate is where Stages start from (the open model's rate or the
	// closed model's users).
	StartRate float64 `yaml:"start_rate" json:"startRate"`
	// Stages, when given, replace the preset: the rate moves linearly
	// through them.
	Stages []Stage `yaml:"stages,omitempty" json:"stages,omitempty"`
	// Requests, when positive, caps the number of requests.
	Requests int64 `yaml:"requests" json:"requests"`
	// Think is a closed-model user's pause between a response and its next
	// request.
	Think time.Duration `yaml:"think" json:"think"`

	// MaxInFlight bounds the requests outstanding at once in the open
	// model (and so the connections). A request due while all are busy is
	// sent late, and counted as late.
	MaxInFlight int `yaml:"max_inflight" json:"maxInFlight"`
	// Timeout bounds each request, from its send to its last byte.
	Timeout time.Duration `yaml:"timeout" json:"timeout"`
	// LateAfter is how far past its intended time a request may be sent
	// before it counts as late.
	LateAfter time.Duration `yaml:"late_after" json:"lateAfter"`
	// MaxLag, when positive, drops (and counts) a request that could not
	// be sent within MaxLag of its intended time, instead of sending it late.
	MaxLag time.Duration `yaml:"max_lag" json:"maxLag"`
	// Grace is how long after the plan's end requests that are due but
	// still waiting for a free slot may be sent; the rest are dropped.
	Grace time.Duration `yaml:"grace" json:"grace"`

	// Client is ClientFast (default) or ClientStd.
	Client string `yaml:"client" json:"client"`
	// HTTP2 asks for HTTP/2 (with prior knowledge on http:// targets); it
	// needs ClientStd.
	HTTP2 bool `yaml:"http2" json:"http2"`
	// Insecure skips TLS certificate verification.
	Insecure bool `yaml:"insecure" json:"insecure"`
	// Headers are sent with every request, such as x-api-key.
	Headers map[string]string `yaml:"headers,omitempty" json:"headers,omitempty"`

	// Mix weighs the operations (see Operations): a read weight of 5 and a
	// create weight of 1 send five reads for every create.
	Mix map[string]float64 `yaml:"mix" json:"mix"`
	// IDs says how operations on existing items pick them.
	IDs IDs `yaml:"ids" json:"ids"`
	// Payloads are the body size classes with their weights.
	Payloads []PayloadClass `yaml:"payloads" json:"payloads"`
	// API is the shape of the target API.
	API API `yaml:"api" json:"api"`

	// Thresholds are pass/fail criteria such as "read.p99<50ms".
	Thresholds []string `yaml:"thresholds,omitempty" json:"thresholds,omitempty"`
}

// IDs configures the pool of item ids that reads, updates, patches and
// deletes draw from: the items the run created, and the ones created
// before measuring.
type IDs struct {
	// Distribution is DistUniform or DistZipf (a few hot keys).
	Distribution string `yaml:"distribution" json:"distribution"`
	// ZipfS is the zipf exponent, > 1; larger means hotter keys.
	ZipfS float64 `yaml:"zipf_s" json:"zipfS"`
	// Preseed items are created before the measured run.
	Preseed int `yaml:"preseed" json:"preseed"`
	// PoolSize bounds the ids remembered, so memory stays flat on long
	// runs; past it, a new id replaces a random one.
	PoolSize int `yaml:"pool_size" json:"poolSize"`
}

// PayloadClass is a body size with its weight in the mix of sizes.
type PayloadClass struct {
	Size   ByteSize `yaml:"size" json:"size"`
	Weight float64  `yaml:"weight" json:"weight"`
}

// API is the shape of the target's CRUD API; the defaults speak surge's
// contract (API.md), and other values drive another API such as
// json-server's /items.
type API struct {
	// BasePath prefixes every path, such as an API Gateway stage "/prod".
	BasePath string `yaml:"base_path" json:"basePath"`
	// Items is the collection path; an item is Items + "/" + id.
	Items string `yaml:"items" json:"items"`
	// Batch is the batch endpoint's path.
	Batch string `yaml:"batch" json:"batch"`
	// Ops is the operation dispatcher's path.
	Ops string `yaml:"ops" json:"ops"`
	// OpsTable, when set, is sent as the dispatcher's tableName.
	OpsTable string `yaml:"ops_table,omitempty" json:"opsTable,omitempty"`
	// OpsMix weighs the dispatcher's operations: create, read, update,
	// delete, list, echo, ping.
	OpsMix map[string]float64 `yaml:"ops_mix" json:"opsMix"`
	// IDFrom says where a create response has the id: IDFromJSON (at
	// IDPath in the body) or IDFromLocation (the Location header's last
	// segment).
	IDFrom string `yaml:"id_from" json:"idFrom"`
	// IDPath is the dotted path of the id in a create response body.
	IDPath string `yaml:"id_path" json:"idPath"`
	// Body is the template of create and update bodies; {{name}}, {{n}} and
	// {{data}} are replaced by a name, a number and a JSON string that pads
	// the body to its size class.
	Body string `yaml:"body" json:"body"`
	// Patch is the template of patch bodies, with the same placeholders.
	Patch string `yaml:"patch" json:"patch"`
	// PatchType is the Content-Type of patch requests.
	PatchType string `yaml:"patch_type" json:"patchType"`
	// ListQuery is the query string of list requests.
	ListQuery string `yaml:"list_query" json:"listQuery"`
	// BatchSize is the number of operations in a batch request.
	BatchSize int `yaml:"batch_size" json:"batchSize"`
	// ErrorStatus is the lowest HTTP status that counts as an error.
	ErrorStatus int `yaml:"error_status" json:"errorStatus"`
}

// DefaultScenario returns a scenario with every default set: 100 requests
// per second for 10 seconds of the default mix against localhost:8080.
func DefaultScenario() Scenario {
	return Scenario{
		Target:      "http://127.0.0.1:8080",
		Model:       ModelOpen,
		Preset:      PresetSustain,
		Rate:        100,
		VUs:         10,
		Duration:    10 * time.Second,
		MaxInFlight: 512,
		Timeout:     10 * time.Second,
		LateAfter:   10 * time.Millisecond,
		Grace:       2 * time.Second,
		Client:      ClientFast,
		Mix:         DefaultMix(),
		IDs:         IDs{Distribution: DistUniform, ZipfS: 1.1, Preseed: 100, PoolSize: 100_000},
		Payloads: []PayloadClass{
			{Size: 256, Weight: 70},
			{Size: 4 << 10, Weight: 25},
			{Size: 64 << 10, Weight: 5},
		},
		API: DefaultAPI(),
	}
}

// DefaultMix is the mix of the seed article's method: every CRUD operation,
// reads the most.
func DefaultMix() map[string]float64 {
	return map[string]float64{"create": 20, "read": 50, "update": 10, "patch": 5, "delete": 5, "list": 10}
}

// DefaultAPI returns the shape of surge's own API (API.md).
func DefaultAPI() API {
	return API{
		Items:       "/items",
		Batch:       "/items/_batch",
		Ops:         "/ops",
		OpsMix:      map[string]float64{"read": 1},
		IDFrom:      IDFromJSON,
		IDPath:      "id",
		Body:        `{"name":"{{name}}","n":{{n}},"data":{{data}}}`,
		Patch:       `{"n":{{n}},"note":{{data}}}`,
		PatchType:   "application/merge-patch+json",
		ListQuery:   "limit=50",
		BatchSize:   10,
		ErrorStatus: 400,
	}
}

// DecodeScenario reads a YAML scenario over the defaults: what the file
// leaves out keeps its default; a map in the file (mix, ops_mix, headers)
// replaces the default map whole. Unknown keys are errors, so a typo does
// not pass silently. The result is not yet validated.
func DecodeScenario(r io.Reader) (Scenario, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	if len(data) > 1<<20 {
		return Scenario{}, errors.New("read scenario: larger than 1 MiB")
	}
	s := DefaultScenario()
	// yaml merges a map into an existing one; clear the default maps so
	// that a map in the file replaces them, and put back the ones it left
	// out afterwards.
	s.Mix, s.API.OpsMix = nil, nil
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return Scenario{}, fmt.Errorf("decode scenario: %w", err)
	}
	if s.Mix == nil {
		s.Mix = DefaultMix()
	}
	if s.API.OpsMix == nil {
		s.API.OpsMix = DefaultAPI().OpsMix
	}
	return s, nil
}

// Validate checks the scenario and returns every problem found, each
// naming the field as the YAML file spells it.
func (s *Scenario) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if u, err := url.Parse(s.Target); err != nil {
		add("target %q: %v", s.Target, err)
	} else if u.Scheme != "http" && u.Scheme != "https" {
		add("target %q: scheme must be http or https", s.Target)
	} else if u.Host == "" {
		add("target %q: no host", s.Target)
	} else if u.RawQuery != "" || u.Fragment != "" {
		add("target %q: must not have a query or fragment (set api.list_query instead)", s.Target)
	}
	switch s.Model {
	case ModelOpen, ModelClosed:
	default:
		add("model %q: must be %s or %s", s.Model, ModelOpen, ModelClosed)
	}
	if !finite(s.Rate) || s.Rate < 0 {
		add("rate %v: must be a number >= 0", s.Rate)
	}
	if s.VUs < 0 || s.VUs > 100_000 {
		add("vus %d: must be between 0 and 100000", s.VUs)
	}
	if s.Duration < 0 {
		add("duration %s: must not be negative", s.Duration)
	}
	if s.Requests < 0 {
		add("requests %d: must not be negative", s.Requests)
	}
	if s.Think < 0 {
		add("think %s: must not be negative", s.Think)
	}
	if len(s.Stages) > 0 {
		if !finite(s.StartRate) || s.StartRate < 0 {
			add("start_rate %v: must be a number >= 0", s.StartRate)
		}
		for i, st := range s.Stages {
			if st.Duration < 0 {
				add("stages[%d].duration %s: must not be negative", i, st.Duration)
			}
			if !finite(st.Target) || st.Target < 0 {
				add("stages[%d].target %v: must be a number >= 0", i, st.Target)
			}
		}
	} else if s.Preset != "" && !slices.Contains(Presets, s.Preset) {
		add("preset %q: must be one of %s", s.Preset, strings.Join(Presets, ", "))
	}
	if len(errs) == 0 {
		if _, _, err := s.Plan(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.MaxInFlight < 1 || s.MaxInFlight > 100_000 {
		add("max_inflight %d: must be between 1 and 100000", s.MaxInFlight)
	}
	if s.Timeout <= 0 {
		add("timeout %s: must be positive", s.Timeout)
	}
	if s.LateAfter < 0 {
		add("late_after %s: must not be negative", s.LateAfter)
	}
	if s.MaxLag < 0 {
		add("max_lag %s: must not be negative", s.MaxLag)
	}
	if s.Grace < 0 {
		add("grace %s: must not be negative", s.Grace)
	}
	switch s.Client {
	case ClientFast:
		if s.HTTP2 {
			add("http2: needs client %s (fasthttp speaks HTTP/1.1 only)", ClientStd)
		}
	case ClientStd:
	default:
		add("client %q: must be %s or %s", s.Client, ClientFast, ClientStd)
	}
	for k, v := range s.Headers {
		if !validHeaderName(k) {
			add("headers: %q is not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			add("headers: the value of %q has a line break or NUL", k)
		}
	}
	errs = append(errs, validateMix("mix", s.Mix, Operations)...)
	switch s.IDs.Distribution {
	case DistUniform:
	case DistZipf:
		if !finite(s.IDs.ZipfS) || s.IDs.ZipfS <= 1 {
			add("ids.zipf_s %v: must be > 1", s.IDs.ZipfS)
		}
	default:
		add("ids.distribution %q: must be %s or %s", s.IDs.Distribution, DistUniform, DistZipf)
	}
	if s.IDs.Preseed < 0 || s.IDs.Preseed > 10_000_000 {
		add("ids.preseed %d: must be between 0 and 10000000", s.IDs.Preseed)
	}
	if s.IDs.PoolSize < 1 || s.IDs.PoolSize > 100_000_000 {
		add("ids.pool_size %d: must be between 1 and 100000000", s.IDs.PoolSize)
	}
	if len(s.Payloads) == 0 {
		add("payloads: at least one size class is needed")
	}
	var pw float64
	for i, p := range s.Payloads {
		if p.Size < 2 || p.Size > MaxPayload {
			add("payloads[%d].size %s: must be between 2B and %s", i, p.Size, ByteSize(MaxPayload))
		}
		if !finite(p.Weight) || p.Weight < 0 {
			add("payloads[%d].weight %v: must be a number >= 0", i, p.Weight)
		}
		pw += p.Weight
	}
	if len(s.Payloads) > 0 && !(pw > 0) {
		add("payloads: the weights add up to zero")
	}
	errs = append(errs, s.API.validate()...)
	for _, t := range s.Thresholds {
		if _, err := ParseThreshold(t); err != nil {
			errs = append(errs, fmt.Errorf("thresholds: %w", err))
		}
	}
	return errs
}

func (a *API) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, p := range []struct{ name, v string }{
		{"api.base_path", a.BasePath}, {"api.items", a.Items}, {"api.batch", a.Batch}, {"api.ops", a.Ops},
	} {
		if p.v != "" && (!strings.HasPrefix(p.v, "/") || strings.ContainsAny(p.v, "?# \t\r\n")) {
			add("%s %q: must start with / and have no query, fragment or space", p.name, p.v)
		}
	}
	if a.Items == "" {
		add("api.items: the collection path is needed")
	}
	switch a.IDFrom {
	case IDFromJSON:
		if a.IDPath == "" {
			add("api.id_path: needed when api.id_from is %s", IDFromJSON)
		}
		for _, k := range strings.Split(a.IDPath, ".") {
			if k == "" && a.IDPath != "" {
				add("api.id_path %q: has an empty segment", a.IDPath)
				break
			}
		}
	case IDFromLocation:
	default:
		add("api.id_from %q: must be %s or %s", a.IDFrom, IDFromJSON, IDFromLocation)
	}
	if err := checkTemplate(a.Body); err != nil {
		add("api.body: %v", err)
	}
	if err := checkTemplate(a.Patch); err != nil {
		add("api.patch: %v", err)
	}
	if a.PatchType == "" || strings.ContainsAny(a.PatchType, "\r\n") {
		add("api.patch_type %q: must be a media type", a.PatchType)
	}
	if strings.ContainsAny(a.ListQuery, "# \t\r\n") || strings.HasPrefix(a.ListQuery, "?") {
		add("api.list_query %q: must be a query string without ? or #", a.ListQuery)
	}
	if a.BatchSize < 1 || a.BatchSize > 1000 {
		add("api.batch_size %d: must be between 1 and 1000", a.BatchSize)
	}
	if a.ErrorStatus < 100 || a.ErrorStatus > 600 {
		add("api.error_status %d: must be between 100 and 600", a.ErrorStatus)
	}
	errs = append(errs, validateMix("api.ops_mix", a.OpsMix, DispatcherOps)...)
	return errs
}

func validateMix(field string, mix map[string]float64, known []string) []error {
	var errs []error
	var total float64
	for _, k := range sortedKeys(mix) {
		w := mix[k]
		if !slices.Contains(known, k) {
			errs = append(errs, fmt.Errorf("%s: unknown operation %q (want %s)", field, k, strings.Join(known, ", ")))
		}
		if !finite(w) || w < 0 {
			errs = append(errs, fmt.Errorf("%s.%s %v: weight must be a number >= 0", field, k, w))
			continue
		}
		total += w
	}
	if !(total > 0) {
		errs = append(errs, fmt.Errorf("%s: the weights add up to zero", field))
	}
	return errs
}

// Plan returns the start rate and the stages the scenario runs: its stages
// if it has any, else its preset (sustain when none is named) scaled by
// the peak and the duration. An open run bounded only by Requests lasts as
// long as Requests take at Rate.
func (s *Scenario) Plan() (start float64, stages []Stage, err error) {
	if len(s.Stages) > 0 {
		return s.StartRate, s.Stages, nil
	}
	peak := s.Rate
	if s.Model == ModelClosed {
		peak = float64(s.VUs)
	}
	if !(peak > 0) {
		if s.Model == ModelClosed {
			return 0, nil, errors.New("vus: must be positive (or give stages)")
		}
		return 0, nil, errors.New("rate: must be positive (or give stages)")
	}
	d := s.Duration
	if d == 0 && s.Requests > 0 {
		if s.Model == ModelClosed {
			// A closed run bounded by its count alone: the plan is long
			// enough never to end first.
			d = 100 * 365 * 24 * time.Hour
		} else {
			d = time.Duration(math.Ceil(float64(s.Requests) / peak * 1e9))
		}
	}
	if d <= 0 {
		return 0, nil, errors.New("duration: must be positive (or give requests or stages)")
	}
	name := s.Preset
	if name == "" {
		name = PresetSustain
	}
	return Preset(name, peak, d)
}

// MaxPayload is the largest body size class: the contract's item limit is
// 400 KB, and a target may refuse what is larger, which a run may want to
// see.
const MaxPayload = 16 << 20

// ByteSize is a size in bytes that reads and prints as "256B", "4KB",
// "64KiB" or "1MB"; KB and KiB both mean 1024 bytes.
type ByteSize int64

// String renders the size in the largest unit that divides it.
func (b ByteSize) String() string {
	switch {
	case b >= 1<<20 && b%(1<<20) == 0:
		return strconv.FormatInt(int64(b)>>20, 10) + "MB"
	case b >= 1<<10 && b%(1<<10) == 0:
		return strconv.FormatInt(int64(b)>>10, 10) + "KB"
	}
	return strconv.FormatInt(int64(b), 10) + "B"
}

// MarshalText implements encoding.TextMarshaler.
func (b ByteSize) MarshalText() ([]byte, error) { return []byte(b.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (b *ByteSize) UnmarshalText(text []byte) error {
	v, err := ParseByteSize(string(text))
	if err != nil {
		return err
	}
	*b = v
	return nil
}

// ParseByteSize reads a size such as "256", "256B", "4KB", "4kib" or "1MB".
func ParseByteSize(s string) (ByteSize, error) {
	t := strings.TrimSpace(s)
	i := 0
	for i < len(t) && t[i] >= '0' && t[i] <= '9' {
		i++
	}
	if i == 0 {
		return 0, fmt.Errorf("size %q: want a number of bytes such as 256B, 4KB or 1MB", s)
	}
	n, err := strconv.ParseInt(t[:i], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("size %q: %w", s, err)
	}
	var mult int64
	switch strings.ToLower(strings.TrimSpace(t[i:])) {
	case "", "b":
		mult = 1
	case "k", "kb", "kib":
		mult = 1 << 10
	case "m", "mb", "mib":
		mult = 1 << 20
	default:
		return 0, fmt.Errorf("size %q: unknown unit (want B, KB or MB)", s)
	}
	if n > math.MaxInt64/mult {
		return 0, fmt.Errorf("size %q: too large", s)
	}
	return ByteSize(n * mult), nil
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
