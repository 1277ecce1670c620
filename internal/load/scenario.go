package load

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
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
// ("30s", "2m"); in the JSON result they are nanoseconds. Its stages, mixes,
// payload classes, thresholds and headers are types with a text form that
// flags and the YAML file share (see ParseStages, ParseMix, ParsePayloads,
// ParseThresholds), parsed once, where the text comes in.
type Scenario struct {
	// Target is the base URL of the service under test, such as
	// http://127.0.0.1:8080 or an API Gateway stage URL.
	Target string `flag:"target" help:"base URL of the service under test (also the first argument)" yaml:"target" json:"target"`
	// Model is ModelOpen (rate) or ModelClosed (virtual users).
	Model string `flag:"model" help:"open (arrival rate, the default) or closed (virtual users, like wrk)" yaml:"model" json:"model"`

	// Preset names a shape of load (see Presets), scaled by Rate (or VUs)
	// as its peak and by Duration. It is ignored when Stages are given.
	Preset string `flag:"preset" help:"shape of load: sustain, ramp (0 to peak), spike (to 3x and back) or seed (ramp, hold, spike to 3x, recover)" yaml:"preset,omitempty" json:"preset,omitempty"`
	// Rate is the peak rate in requests per second for the open model.
	Rate float64 `flag:"rate" help:"peak rate, requests per second (open model)" yaml:"rate" json:"rate"`
	// VUs is the peak number of virtual users for the closed model.
	VUs int `flag:"vus" help:"peak virtual users (closed model)" yaml:"vus" json:"vus"`
	// Duration is the length of a preset.
	Duration time.Duration `flag:"duration" short:"d" help:"length of the preset (0 with --requests: as long as they take)" yaml:"duration" json:"duration"`
	// StartRate is where Stages start from (the open model's rate or the
	// closed model's users).
	StartRate float64 `flag:"start-rate" help:"rate (or users) the stages start from" yaml:"start_rate" json:"startRate"`
	// Stages, when given, replace the preset: the rate moves linearly
	// through them.
	Stages Stages `flag:"stages" help:"stages instead of a preset: DURATION:TARGET,... ramped linearly, such as 30s:100,1m:100,10s:300" yaml:"stages,omitempty" json:"stages,omitempty"`
	// Requests, when positive, caps the number of requests.
	Requests int64 `flag:"requests" short:"n" help:"stop after this many requests (0: no limit)" yaml:"requests" json:"requests"`
	// Think is a closed-model user's pause between a response and its next
	// request.
	Think time.Duration `flag:"think" help:"closed model: pause between a user's response and its next request" yaml:"think" json:"think"`
	// Iterations, when positive, bounds each closed-model user's
	// iterations: passes through a Postman collection, or requests of the
	// CRUD mix. Given alone, it implies the closed model.
	Iterations int `flag:"iterations" help:"closed model: iterations of each virtual user, of the collection with --postman, else a request each (0: no limit; implies --model closed)" yaml:"iterations,omitempty" json:"iterations,omitempty"`

	// MaxInFlight bounds the requests outstanding at once in the open
	// model (and so the connections). A request due while all are busy is
	// sent late, and counted as late.
	MaxInFlight int `flag:"max-inflight" short:"c" help:"open model: most requests (and connections) outstanding; a request due while all are busy goes out late" yaml:"max_inflight" json:"maxInFlight"`
	// Timeout bounds each request, from its send to its last byte.
	Timeout time.Duration `flag:"timeout" help:"bound on each request" yaml:"timeout" json:"timeout"`
	// LateAfter is how far past its intended time a request may be sent
	// before it counts as late.
	LateAfter time.Duration `flag:"late-after" help:"a request sent more than this after its intended time counts as late" yaml:"late_after" json:"lateAfter"`
	// MaxLag, when positive, drops (and counts) a request that could not
	// be sent within MaxLag of its intended time, instead of sending it late.
	MaxLag time.Duration `flag:"max-lag" help:"drop (and count) a request that cannot be sent within this of its intended time (0: send it late)" yaml:"max_lag" json:"maxLag"`
	// Grace is how long after the plan's end requests that are due but
	// still waiting for a free slot may be sent; the rest are dropped.
	Grace time.Duration `flag:"grace" help:"how long after the plan requests still waiting for a slot may go out; the rest are dropped" yaml:"grace" json:"grace"`

	// Client is ClientFast (default) or ClientStd.
	Client string `flag:"client" help:"HTTP client: fasthttp (HTTP/1.1, fastest) or nethttp (also HTTP/2)" yaml:"client" json:"client"`
	// HTTP2 asks for HTTP/2 (with prior knowledge on http:// targets); it
	// needs ClientStd.
	HTTP2 bool `flag:"http2" help:"speak HTTP/2 (h2c on http:// targets); implies --client nethttp" yaml:"http2" json:"http2"`
	// Insecure skips TLS certificate verification.
	Insecure bool `flag:"insecure" help:"skip TLS certificate verification" yaml:"insecure" json:"insecure"`
	// Headers are sent with every request, such as x-api-key.
	Headers Headers `flag:"header" short:"H" help:"header sent with every request, 'Name: value' (repeatable)" yaml:"headers,omitempty" json:"headers,omitempty"`
	// ConnectTo sends the connections for one host and port to another
	// address, as curl's --connect-to does: the URL, the Host header and
	// the TLS server name stay the ones requested.
	ConnectTo ConnectTo `flag:"connect-to" help:"connect to ADDR:PORT for requests to HOST:PORT, keeping the URL, Host and TLS name, HOST:PORT=ADDR:PORT (repeatable)" yaml:"connect_to,omitempty" json:"connectTo,omitempty"`

	// Mix weighs the operations (see Operations): a read weight of 5 and a
	// create weight of 1 send five reads for every create.
	Mix Mix `flag:"mix" help:"operation weights, such as read=5,create=1,update=1 (create read update patch delete list batch ops)" yaml:"mix" json:"mix"`
	// IDs says how operations on existing items pick them.
	IDs IDs `yaml:"ids" json:"ids"`
	// Payloads are the body size classes with their weights.
	Payloads Payloads `flag:"payloads" help:"body size classes with weights, such as 256B=70,4KB=25,64KB=5" yaml:"payloads" json:"payloads"`
	// API is the shape of the target API.
	API API `yaml:"api" json:"api"`
	// OpenAPI is an OpenAPI document whose collection resource gives the
	// API's shape (see ApplyOpenAPI): the paths, where a create's id is,
	// the bodies and the list query.
	OpenAPI string `flag:"openapi" help:"take the API's shape from this OpenAPI 3.0 or 3.1 document (JSON or YAML; a file or an http(s) URL such as surge serve's /openapi.json): its create, read, update, patch, delete and list; flags override it" yaml:"openapi,omitempty" json:"openapi,omitempty"`
	// Postman, when its File is set, runs a Postman collection's requests
	// instead of the CRUD mix.
	Postman Postman `yaml:"postman,omitempty" json:"postman,omitzero"`

	// Thresholds are pass/fail criteria such as "read.p99<50ms".
	Thresholds Thresholds `flag:"threshold" help:"pass/fail criterion such as 'read.p99<50ms' or 'errors<1%' (repeatable, or comma-separated); a breach exits 99" yaml:"thresholds,omitempty" json:"thresholds,omitempty"`

	// Usage is the URL of the target's usage report (surge serve's admin
	// listener: http://127.0.0.1:9090/usage), read before and after the
	// measured run to price it (Result.Cost); empty: no cost.
	Usage string `flag:"usage" help:"URL of the target's usage report, read before and after the run to price it, such as surge serve's http://127.0.0.1:9090/usage (empty: no cost)" yaml:"usage,omitempty" json:"usage,omitempty"`
	// Prices is a prices file like internal/cost's prices.yaml (empty: the
	// embedded one).
	Prices string `flag:"prices" help:"AWS prices file for the cost (default: the embedded prices.yaml)" yaml:"prices,omitempty" json:"prices,omitempty"`
}

// IDs configures the pool of item ids that reads, updates, patches and
// deletes draw from: the items the run created, and the ones created
// before measuring.
type IDs struct {
	// Distribution is DistUniform or DistZipf (a few hot keys).
	Distribution string `flag:"ids" help:"how operations pick existing items: uniform or zipf (hot keys)" yaml:"distribution" json:"distribution"`
	// ZipfS is the zipf exponent, > 1; larger means hotter keys.
	ZipfS float64 `flag:"zipf-s" help:"zipf exponent (> 1; larger is hotter)" yaml:"zipf_s" json:"zipfS"`
	// Preseed items are created before the measured run.
	Preseed int `flag:"preseed" help:"items to create before measuring" yaml:"preseed" json:"preseed"`
	// PoolSize bounds the ids remembered, so memory stays flat on long
	// runs; past it, a new id replaces a random one.
	PoolSize int `flag:"pool-size" help:"most item ids remembered for reads, updates and deletes" yaml:"pool_size" json:"poolSize"`
}

// API is the shape of the target's CRUD API; the defaults speak surge's
// contract (API.md), and other values drive another API such as
// json-server's /items.
type API struct {
	// BasePath prefixes every path, such as an API Gateway stage "/prod".
	BasePath string `flag:"base-path" help:"path prefix of every request, such as an API Gateway stage /prod" yaml:"base_path" json:"basePath"`
	// Items is the collection path; an item is Items + "/" + id.
	Items string `flag:"items-path" help:"collection path; an item is at <items-path>/<id>" yaml:"items" json:"items"`
	// Batch is the batch endpoint's path.
	Batch string `yaml:"batch" json:"batch"`
	// Ops is the operation dispatcher's path.
	Ops string `yaml:"ops" json:"ops"`
	// OpsTable, when set, is sent as the dispatcher's tableName.
	OpsTable string `flag:"ops-table" help:"tableName sent to the /ops dispatcher (empty: none)" yaml:"ops_table,omitempty" json:"opsTable,omitempty"`
	// OpsConsistentRead asks the dispatcher's reads for a strongly
	// consistent read (DynamoDB's ConsistentRead), which a read cache
	// in front of the table does not answer.
	OpsConsistentRead bool `flag:"ops-consistent-read" help:"the /ops dispatcher's reads ask for strongly consistent reads (ConsistentRead)" yaml:"ops_consistent_read,omitempty" json:"opsConsistentRead,omitempty"`
	// OpsMix weighs the dispatcher's operations: create, read, update,
	// delete, list, echo, ping.
	OpsMix Mix `flag:"ops-mix" help:"weights of the /ops dispatcher's operations (create read update delete list echo ping)" yaml:"ops_mix" json:"opsMix"`
	// IDFrom says where a create response has the id: IDFromJSON (at
	// IDPath in the body) or IDFromLocation (the Location header's last
	// segment).
	IDFrom string `flag:"id-from" help:"where a create response has the id: json (at --id-path) or location (the Location header)" yaml:"id_from" json:"idFrom"`
	// IDPath is the dotted path of the id in a create response body.
	IDPath string `flag:"id-path" help:"dotted path of the id in a create response, such as id or data.id" yaml:"id_path" json:"idPath"`
	// Body is the template of create and update bodies; {{name}}, {{n}} and
	// {{data}} are replaced by a name, a number and a JSON string that pads
	// the body to its size class.
	Body string `flag:"body" help:"create and update body template: {{name}}, {{n}} and {{data}} (padding to the size class)" yaml:"body" json:"body"`
	// UpdateBody, when set, is the template of update (PUT) bodies
	// instead of Body, with the same placeholders.
	UpdateBody string `flag:"update-body" help:"update (PUT) body template, when it differs from --body" yaml:"update_body,omitempty" json:"updateBody,omitempty"`
	// Patch is the template of patch bodies, with the same placeholders.
	Patch string `flag:"patch-body" help:"patch body template" yaml:"patch" json:"patch"`
	// PatchType is the Content-Type of patch requests.
	PatchType string `yaml:"patch_type" json:"patchType"`
	// ListQuery is the query string of list requests.
	ListQuery string `flag:"list-query" help:"query string of list requests" yaml:"list_query" json:"listQuery"`
	// BatchSize is the number of operations in a batch request.
	BatchSize int `flag:"batch-size" help:"operations in a batch request" yaml:"batch_size" json:"batchSize"`
	// ErrorStatus is the lowest HTTP status that counts as an error.
	ErrorStatus int `flag:"error-status" help:"lowest HTTP status counted as an error" yaml:"error_status" json:"errorStatus"`
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
func DefaultMix() Mix {
	return Mix{"create": 20, "read": 50, "update": 10, "patch": 5, "delete": 5, "list": 10}
}

// DefaultAPI returns the shape of surge's own API (API.md).
func DefaultAPI() API {
	return API{
		Items:       "/items",
		Batch:       "/items/_batch",
		Ops:         "/ops",
		OpsMix:      Mix{"read": 1},
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
// leaves out keeps its default; a mix in the file (mix, ops_mix) replaces
// the default one whole. Unknown keys are errors, so a typo does not pass
// silently, and every error of the file is reported, not only the first.
// The result is not yet validated.
func DecodeScenario(r io.Reader) (Scenario, error) {
	data, err := io.ReadAll(io.LimitReader(r, 1<<20+1))
	if err != nil {
		return Scenario{}, fmt.Errorf("read scenario: %w", err)
	}
	if len(data) > 1<<20 {
		return Scenario{}, errors.New("read scenario: larger than 1 MiB")
	}
	s := DefaultScenario()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&s); err != nil && !errors.Is(err, io.EOF) {
		return Scenario{}, fmt.Errorf("decode scenario: %w", err)
	}
	// A mix given as null (mix: ~) keeps its default.
	if s.Mix == nil {
		s.Mix = DefaultMix()
	}
	if s.API.OpsMix == nil {
		s.API.OpsMix = DefaultAPI().OpsMix
	}
	return s, nil
}

// ReadScenarioFile reads a YAML scenario file with DecodeScenario.
func ReadScenarioFile(path string) (Scenario, error) {
	f, err := os.Open(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario: %w", err)
	}
	defer f.Close()
	s, err := DecodeScenario(f)
	if err != nil {
		return Scenario{}, fmt.Errorf("scenario %s: %w", path, err)
	}
	return s, nil
}

// Headers are the headers sent with every request, by name. As a flag
// (flag.Value), each value is one header, "Name: value", added to the
// others.
type Headers map[string]string

// Set adds the header that s gives as "Name: value".
func (h *Headers) Set(s string) error {
	name, value, ok := strings.Cut(s, ":")
	if !ok {
		return fmt.Errorf("%q: want 'Name: value'", s)
	}
	if *h == nil {
		*h = Headers{}
	}
	(*h)[strings.TrimSpace(name)] = strings.TrimSpace(value)
	return nil
}

// String returns the headers as "Name: value" pairs, names in order.
func (h Headers) String() string {
	lines := make([]string, 0, len(h))
	for _, k := range sortedKeys(h) {
		lines = append(lines, k+": "+h[k])
	}
	return strings.Join(lines, ", ")
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
	if d == 0 && (s.Requests > 0 || s.iterations() > 0) {
		if s.Model == ModelClosed {
			// A closed run bounded by its count or its iterations alone:
			// the plan is long enough never to end first.
			d = 100 * 365 * 24 * time.Hour
		} else {
			d = time.Duration(math.Ceil(float64(s.Requests) / peak * 1e9))
		}
	}
	if d <= 0 {
		return 0, nil, errors.New("duration: must be positive (or give requests, iterations or stages)")
	}
	name := s.Preset
	if name == "" {
		name = PresetSustain
	}
	return Preset(name, peak, d)
}

// Settled applies what a setting means beyond its own field, once the
// settings are applied over the defaults and the file (hasFile): given
// reports whether a setting, by its flag name, was given.
//
//   - a preset replaces the file's stages, unless stages are given too;
//   - a count of requests or of iterations alone bounds the run (no
//     default duration);
//   - iterations imply the closed model, unless a model is given;
//   - a collection's requests go to their own URLs: the default target
//     is dropped (one given is an error, see Validate);
//   - HTTP/2 picks the net/http client, unless a client is given;
//   - a collection path moves the batch path beneath it.
func (s *Scenario) Settled(given func(name string) bool, hasFile bool) {
	if given("preset") && !given("stages") {
		s.Stages = nil
	}
	if (given("requests") || given("iterations")) && !given("duration") && !hasFile {
		s.Duration = 0
	}
	if given("iterations") && !given("model") {
		s.Model = ModelClosed
	}
	if s.Postman.File != "" && !given("target") && s.Target == DefaultScenario().Target {
		s.Target = ""
	}
	if given("http2") && s.HTTP2 && !given("client") {
		s.Client = ClientStd
	}
	if given("items-path") {
		s.API.Batch = strings.TrimSuffix(s.API.Items, "/") + "/_batch"
	}
}
