package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/observe/servertiming"
)

// DefaultIntegrationTimeout is API Gateway's integration timeout for a
// REST API.
const DefaultIntegrationTimeout = 29 * time.Second

// IntegrationOptions configure an Integration.
type IntegrationOptions struct {
	// Routes are the API's resources, as ServeMux patterns ("GET
	// /items/{id}"): each becomes the event's resource and path parameters,
	// as API Gateway fills them for a resource it defines. A request that
	// matches none is sent as API Gateway's greedy {proxy+} resource.
	Routes []rest.Route
	// Stage is the stage name in the events (default "local"; "$default"
	// for payload format 2.0).
	Stage string
	// PayloadVersion is the payload format of the events: "1.0" (the
	// default: REST APIs, and HTTP APIs that ask for it) or "2.0" (HTTP
	// APIs' default), which also says how the function's answer is read.
	PayloadVersion string
	// APIID is the API's id in the events.
	APIID string
	// StageVariables are the stage's variables in the events.
	StageVariables map[string]string
	// Timeout is API Gateway's integration timeout (default
	// DefaultIntegrationTimeout): past it, the client gets 504 while the
	// invocation goes on to its own end.
	Timeout time.Duration
	// ThrottleStatus is the answer to a throttled invocation: 429 (the
	// default: throttled, with Retry-After) or 500, what API Gateway
	// answers when Lambda throttles.
	ThrottleStatus int
	// TimeoutStatus is the answer to an invocation that reached the
	// function's own timeout (Sandbox.Timedout): 504 (the default,
	// gateway_timeout, what a client reads as "the backend took too
	// long") or 502, what API Gateway answers when the function's timeout
	// is shorter than its integration timeout (a timed-out Lambda is a
	// function error to it).
	TimeoutStatus int
}

// Payload format versions of IntegrationOptions.PayloadVersion.
const (
	PayloadV1 = "1.0"
	PayloadV2 = "2.0"
)

// Integration is the API Gateway Lambda proxy integration in front of a
// Pool: an http.Handler that turns each request into a REST API (v1)
// proxy event, invokes the function, and writes its proxy response back
// (see the package documentation for the failures). It adds to the
// request's servertiming.Recorder, when there is one, the function's own
// Server-Timing metrics (its total as "function") and "init" (a cold
// start's init), "lambda" (the invocation's Duration) and "pool" (the
// rest of the time in the integration: the event, the transport, the
// queueing), and marks a cold start's response with X-Cold-Start: true.
type Integration struct {
	pool   *Pool
	opt    IntegrationOptions
	mux    *http.ServeMux
	routed map[string]bool // the patterns of opt.Routes
}

// NewIntegration returns the integration of p.
func NewIntegration(p *Pool, opt IntegrationOptions) *Integration {
	if opt.PayloadVersion != PayloadV2 {
		opt.PayloadVersion = PayloadV1
	}
	if opt.Stage == "" {
		opt.Stage = "local"
		if opt.PayloadVersion == PayloadV2 {
			opt.Stage = "$default"
		}
	}
	if opt.TimeoutStatus != http.StatusBadGateway {
		opt.TimeoutStatus = http.StatusGatewayTimeout
	}
	if opt.Timeout <= 0 {
		opt.Timeout = DefaultIntegrationTimeout
	}
	if opt.ThrottleStatus != http.StatusInternalServerError {
		opt.ThrottleStatus = http.StatusTooManyRequests
	}
	g := &Integration{pool: p, opt: opt, mux: http.NewServeMux()}
	h := http.HandlerFunc(g.invoke)
	seen := map[string]bool{}
	g.routed = seen
	for _, rt := range opt.Routes {
		pat := rt.Pattern
		if rt.Method != "" {
			pat = rt.Method + " " + pat
		}
		if !seen[pat] {
			seen[pat] = true
			g.mux.Handle(pat, h)
		}
	}
	// The greedy resource, as a REST API's /{proxy+}.
	if !seen["/{proxy...}"] {
		g.mux.Handle("/{proxy...}", h)
	}
	return g
}

// ServeHTTP implements http.Handler.
func (g *Integration) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if p := r.URL.Path; p != rest.CleanPath(p) {
		// The mux would redirect to the clean path; the function is the
		// one to answer a path that no resource has (the items service
		// answers 404).
		g.invoke(w, r)
		return
	}
	g.mux.ServeHTTP(w, r)
}

func (g *Integration) invoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	opt := awsevent.EventOptions{Stage: g.opt.Stage, APIID: g.opt.APIID, AccountID: g.pool.cfg.AccountID,
		Tenant: items.TenantFrom(ctx), RequestID: w.Header().Get("X-Request-Id"), Now: start, StageVariables: g.opt.StageVariables}
	if r.Pattern == "/{proxy...}" {
		opt.Resource, opt.PathParameters = "/{proxy+}", map[string]string{"proxy": strings.TrimPrefix(r.URL.Path, "/")}
		if opt.PathParameters["proxy"] == "" {
			opt.Resource, opt.PathParameters = "/", nil
		}
	}
	if r.ContentLength > MaxPayload {
		// Refused before the body is read: its event would be over
		// Lambda's payload limit anyway.
		rest.WriteError(w, &items.Error{Code: items.ETOOLARGE, Message: "The request is over Lambda's payload limit."})
		return
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// A REST API event carries the query decoded, so a query that does
		// not decode cannot reach the function: refused here, as the
		// items service refuses one.
		rest.WriteError(w, &items.Error{Code: items.EINVALID, Message: "The query string is malformed."})
		return
	}
	var ev any
	var err error
	if g.opt.PayloadVersion == PayloadV2 {
		if r.Pattern == "/{proxy...}" && opt.Resource == "/{proxy+}" && !g.routed["/{proxy...}"] {
			opt.Resource, opt.PathParameters = "", nil // no route matched: $default
		}
		ev, err = awsevent.NewV2Event(r, opt)
	} else {
		ev, err = awsevent.NewV1Event(r, opt)
	}
	if err != nil {
		var cut *http.MaxBytesError
		if items.ErrorCode(err) == items.ETOOLARGE || errors.As(err, &cut) {
			msg := items.ErrorMessage(err)
			if cut != nil {
				msg = "The request body is over " + strconv.FormatInt(cut.Limit, 10) + " bytes."
			}
			rest.WriteError(w, &items.Error{Code: items.ETOOLARGE, Message: msg})
			return
		}
		// The client's body could not be read: it is gone or broken.
		rest.WriteError(w, &items.Error{Code: items.EINVALID, Message: "The request body could not be read."})
		return
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		rest.WriteError(w, &items.Error{Code: items.EINTERNAL, Message: "Internal error."})
		return
	}
	ictx, cancel := context.WithTimeout(ctx, g.opt.Timeout)
	defer cancel()
	// The answer is written as soon as the function's response arrives,
	// on the goroutine that read it, while this one waits in Invoke.
	written := false
	res, err := g.pool.Invoke(ictx, payload, InvokeOptions{TraceID: r.Header.Get("X-Amzn-Trace-Id"),
		OnResult: func(res *Result) {
			written = true
			g.answer(w, r, start, res)
		}})
	var throttle *ThrottleError
	var tooLarge *TooLargeError
	switch {
	case err == nil:
		if !written {
			g.answer(w, r, start, res)
		}
	case errors.As(err, &throttle):
		if g.opt.ThrottleStatus == http.StatusInternalServerError {
			rest.WriteLimited(w, throttle.LimitSource(), &items.Error{Code: items.EINTERNAL, Message: "Internal error."})
			return
		}
		rest.WriteLimited(w, throttle.LimitSource(), &items.Error{Code: items.ETHROTTLED, Message: "Too Many Requests", RetryAfter: int(throttle.RetryAfter / time.Second)})
	case errors.As(err, &tooLarge):
		rest.WriteError(w, &items.Error{Code: items.ETOOLARGE, Message: "The request is over Lambda's payload limit."})
	case ctx.Err() != nil:
		// The client is gone.
	case errors.Is(err, context.DeadlineExceeded):
		rest.WriteError(w, &items.Error{Code: rest.CodeGatewayTimeout, Message: "Endpoint request timed out"})
	default: // closed
		rest.WriteLimited(w, rest.LimitShutdown, &items.Error{Code: items.EUNAVAILABLE, Message: "The function is shutting down.", RetryAfter: 1})
	}
}

// answer writes the client's answer to a completed invocation.
func (g *Integration) answer(w http.ResponseWriter, r *http.Request, start time.Time, res *Result) {
	if res.Cold {
		w.Header().Set("X-Cold-Start", "true")
	}
	rec := servertiming.FromContext(r.Context())
	if res.FunctionError != "" {
		g.pool.cfg.Log.Warn("function error", "function", g.pool.cfg.Name, "request_id", res.RequestID,
			"error_type", res.ErrorType, "error", string(clipBytes(res.Payload, 512)))
		g.addPool(rec, start, res)
		if res.ErrorType == "Sandbox.Timedout" && g.opt.TimeoutStatus == http.StatusGatewayTimeout {
			rest.WriteError(w, &items.Error{Code: rest.CodeGatewayTimeout, Message: "Endpoint request timed out"})
			return
		}
		rest.WriteError(w, &items.Error{Code: rest.CodeBadGateway, Message: "Internal server error"})
		return
	}
	if g.opt.PayloadVersion == PayloadV2 {
		g.addPool(rec, start, res)
		if err := awsevent.WriteV2Response(w, res.Payload); err != nil {
			g.pool.cfg.Log.Warn("malformed Lambda response", "function", g.pool.cfg.Name, "request_id", res.RequestID,
				"err", err, "response", string(clipBytes(res.Payload, 512)))
			rest.WriteError(w, &items.Error{Code: items.EINTERNAL, Message: "Internal Server Error"})
		}
		return
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.StatusCode == 0 {
		g.pool.cfg.Log.Warn("malformed Lambda proxy response", "function", g.pool.cfg.Name, "request_id", res.RequestID,
			"response", string(clipBytes(res.Payload, 512)))
		g.addPool(rec, start, res)
		rest.WriteError(w, &items.Error{Code: rest.CodeBadGateway, Message: "Internal server error"})
		return
	}
	if rec != nil {
		// The function's own metrics join the gateway's header, first.
		for _, v := range takeHeader(&resp, servertiming.HeaderName) {
			for _, m := range parseServerTiming(v) {
				name := m.name
				if name == servertiming.TotalName {
					name = "function"
				}
				if m.isValue {
					rec.AddValue(name, m.value) // capacity units
					continue
				}
				rec.Add(name, m.dur)
			}
		}
		g.addPool(rec, start, res)
	}
	if !hasHeader(&resp, "Content-Type") {
		// API Gateway's default for a proxy response that names none
		// (net/http would sniff one, text/plain for JSON).
		w.Header().Set("Content-Type", "application/json")
	}
	if r.Method == http.MethodHead {
		// The body of a HEAD answer is dropped, but not its length.
		if cl := takeHeader(&resp, "Content-Length"); len(cl) > 0 {
			w = &headWriter{ResponseWriter: w, length: cl[0]}
		}
	}
	if err := awsevent.WriteV1Response(w, &resp); err != nil {
		g.pool.cfg.Log.Warn("malformed Lambda proxy response", "function", g.pool.cfg.Name, "request_id", res.RequestID, "err", err)
		rest.WriteError(w, &items.Error{Code: rest.CodeBadGateway, Message: "Internal server error"})
	}
}

// addPool records the cold start's init, the invocation's Duration
// ("lambda") and the integration's own time, the rest ("pool").
func (g *Integration) addPool(rec *servertiming.Recorder, start time.Time, res *Result) {
	if rec == nil {
		return
	}
	if res.Cold {
		rec.Add("init", res.InitDuration)
	}
	rec.Add("lambda", res.Duration)
	rec.Add("pool", max(0, time.Since(start)-res.InitDuration-res.Duration))
}

// headWriter keeps the Content-Length a function gave a HEAD answer,
// which WriteV1Response would set from the (empty) body.
type headWriter struct {
	http.ResponseWriter
	length string
}

func (w *headWriter) WriteHeader(code int) {
	w.Header().Set("Content-Length", w.length)
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the writer below.
func (w *headWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// hasHeader reports whether a proxy response has the header name (any
// case).
func hasHeader(resp *events.APIGatewayProxyResponse, name string) bool {
	for k := range resp.Headers {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	for k, v := range resp.MultiValueHeaders {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return true
		}
	}
	return false
}

// takeHeader removes the header name (any case) from a proxy response and
// returns its values.
func takeHeader(resp *events.APIGatewayProxyResponse, name string) []string {
	var vs []string
	for k, v := range resp.Headers {
		if strings.EqualFold(k, name) {
			vs = append(vs, v)
			delete(resp.Headers, k)
		}
	}
	for k, v := range resp.MultiValueHeaders {
		if strings.EqualFold(k, name) {
			vs = append(vs, v...)
			delete(resp.MultiValueHeaders, k)
		}
	}
	return vs
}

type stMetric struct {
	name string
	dur  time.Duration
	// value is a metric with a number as its desc and no dur (the
	// capacity units "rcu;desc=0.5"), when isValue.
	value   float64
	isValue bool
}

// parseServerTiming reads the metrics with a duration from a Server-Timing
// value ("store;dur=0.41, total;dur=0.93"), and those with a number as
// their desc and no duration ("rcu;desc=0.5"); anything else is skipped.
func parseServerTiming(v string) []stMetric {
	var out []stMetric
	for _, part := range strings.Split(v, ",") {
		params := strings.Split(part, ";")
		name := strings.TrimSpace(params[0])
		if name == "" || !tokenOK(name) {
			continue
		}
		var desc *stMetric
		hasDur := false
		for _, p := range params[1:] {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok {
				continue
			}
			f, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(val), `"`), 64)
			switch key := strings.TrimSpace(k); {
			case strings.EqualFold(key, "desc"):
				if err == nil && f >= 0 && f <= 1e12 {
					desc = &stMetric{name: name, value: f, isValue: true}
				}
				continue
			case !strings.EqualFold(key, "dur"):
				continue
			}
			hasDur = true
			if err != nil || f < 0 || f > 1e9 {
				break
			}
			out = append(out, stMetric{name: name, dur: time.Duration(f * float64(time.Millisecond))})
			break
		}
		if !hasDur && desc != nil {
			out = append(out, *desc)
		}
	}
	return out
}

// tokenOK reports whether s is an HTTP token, as a metric name must be.
func tokenOK(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return true
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}
