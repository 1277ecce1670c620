package lambda

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/apigw"
	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/timing"
)

// DefaultIntegrationTimeout is API Gateway's integration timeout for a
// REST API.
const DefaultIntegrationTimeout = 29 * time.Second

// Error codes the Integration answers with, beside the contract's own
// throttled, too_large and internal: named, like the contract's, after
// their HTTP status.
const (
	CodeBadGateway     = "bad_gateway"
	CodeGatewayTimeout = "gateway_timeout"
)

// Route is a resource of the API in front of the function, as a ServeMux
// pattern ("GET /items/{id}"): it becomes the event's resource and path
// parameters, as API Gateway fills them for a resource it defines.
type Route struct {
	Method, Pattern string
}

// IntegrationOptions configure an Integration.
type IntegrationOptions struct {
	// Routes are the API's resources; a request that matches none is sent
	// as API Gateway's greedy {proxy+} resource.
	Routes []Route
	// Stage is the stage name in the events (default "local").
	Stage string
	// APIID is the API's id in the events.
	APIID string
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

// Integration is the API Gateway Lambda proxy integration in front of a
// Pool: an http.Handler that turns each request into a REST API (v1)
// proxy event, invokes the function, and writes its proxy response back
// (see the package documentation for the failures). It adds to the
// request's timing.Recorder, when there is one, the function's own
// Server-Timing metrics (its total as "function") and "init" (a cold
// start's init), "lambda" (the invocation's Duration) and "pool" (the
// rest of the time in the integration: the event, the transport, the
// queueing), and marks a cold start's response with X-Cold-Start: true.
type Integration struct {
	pool *Pool
	opt  IntegrationOptions
	mux  *http.ServeMux
}

// NewIntegration returns the integration of p.
func NewIntegration(p *Pool, opt IntegrationOptions) *Integration {
	if opt.Stage == "" {
		opt.Stage = "local"
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
	if p := r.URL.Path; p != cleanPath(p) {
		// The mux would redirect to the clean path; the function is the
		// one to answer a path that no resource has (the items service
		// answers 404).
		g.invoke(w, r)
		return
	}
	g.mux.ServeHTTP(w, r)
}

// cleanPath returns the canonical form of a path as http.ServeMux sees it:
// rooted, without "." or ".." elements or repeated slashes, keeping a
// trailing slash.
func cleanPath(p string) string {
	if p == "" {
		return "/"
	}
	if p[0] != '/' {
		p = "/" + p
	}
	np := path.Clean(p)
	if p[len(p)-1] == '/' && np != "/" {
		np += "/"
	}
	return np
}

func (g *Integration) invoke(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	ctx := r.Context()
	opt := apigw.EventOptions{Stage: g.opt.Stage, APIID: g.opt.APIID, AccountID: g.pool.cfg.AccountID,
		Tenant: items.TenantFrom(ctx), RequestID: w.Header().Get("X-Request-Id"), Now: start}
	if r.Pattern == "/{proxy...}" {
		opt.Resource, opt.PathParameters = "/{proxy+}", map[string]string{"proxy": strings.TrimPrefix(r.URL.Path, "/")}
		if opt.PathParameters["proxy"] == "" {
			opt.Resource, opt.PathParameters = "/", nil
		}
	}
	if _, err := url.ParseQuery(r.URL.RawQuery); err != nil {
		// A REST API event carries the query decoded, so a query that does
		// not decode cannot reach the function: refused here, as the
		// items service refuses one.
		writeError(w, http.StatusBadRequest, items.EINVALID, "The query string is malformed.", 0)
		return
	}
	ev, err := apigw.NewV1Event(r, opt)
	if err != nil {
		if items.ErrorCode(err) == items.ETOOLARGE {
			writeError(w, http.StatusRequestEntityTooLarge, items.ETOOLARGE, items.ErrorMessage(err), 0)
			return
		}
		// The client's body could not be read: it is gone or broken.
		writeError(w, http.StatusBadRequest, items.EINVALID, "The request body could not be read.", 0)
		return
	}
	payload, err := json.Marshal(ev)
	if err != nil {
		writeError(w, http.StatusInternalServerError, items.EINTERNAL, "Internal error.", 0)
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
			writeError(w, http.StatusInternalServerError, items.EINTERNAL, "Internal error.", 0)
			return
		}
		writeError(w, http.StatusTooManyRequests, items.ETHROTTLED, "Too Many Requests", int(throttle.RetryAfter/time.Second))
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, items.ETOOLARGE, "The request is over Lambda's payload limit.", 0)
	case ctx.Err() != nil:
		// The client is gone.
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, CodeGatewayTimeout, "Endpoint request timed out", 0)
	default: // closed
		writeError(w, http.StatusServiceUnavailable, items.EUNAVAILABLE, "The function is shutting down.", 1)
	}
}

// answer writes the client's answer to a completed invocation.
func (g *Integration) answer(w http.ResponseWriter, r *http.Request, start time.Time, res *Result) {
	if res.Cold {
		w.Header().Set("X-Cold-Start", "true")
	}
	rec := timing.FromContext(r.Context())
	if res.FunctionError != "" {
		g.pool.cfg.Log.Warn("function error", "function", g.pool.cfg.Name, "request_id", res.RequestID,
			"error_type", res.ErrorType, "error", string(clipBytes(res.Payload, 512)))
		g.addPool(rec, start, res)
		if res.ErrorType == "Sandbox.Timedout" && g.opt.TimeoutStatus == http.StatusGatewayTimeout {
			writeError(w, http.StatusGatewayTimeout, CodeGatewayTimeout, "Endpoint request timed out", 0)
			return
		}
		writeError(w, http.StatusBadGateway, CodeBadGateway, "Internal server error", 0)
		return
	}
	var resp events.APIGatewayProxyResponse
	if err := json.Unmarshal(res.Payload, &resp); err != nil || resp.StatusCode == 0 {
		g.pool.cfg.Log.Warn("malformed Lambda proxy response", "function", g.pool.cfg.Name, "request_id", res.RequestID,
			"response", string(clipBytes(res.Payload, 512)))
		g.addPool(rec, start, res)
		writeError(w, http.StatusBadGateway, CodeBadGateway, "Internal server error", 0)
		return
	}
	if rec != nil {
		// The function's own metrics join the gateway's header, first.
		for _, v := range takeHeader(&resp, timing.HeaderName) {
			for _, m := range parseServerTiming(v) {
				name := m.name
				if name == timing.TotalName {
					name = "function"
				}
				rec.Add(name, m.dur)
			}
		}
		g.addPool(rec, start, res)
	}
	if r.Method == http.MethodHead {
		// The body of a HEAD answer is dropped, but not its length.
		if cl := takeHeader(&resp, "Content-Length"); len(cl) > 0 {
			w = &headWriter{ResponseWriter: w, length: cl[0]}
		}
	}
	if err := apigw.WriteV1Response(w, &resp); err != nil {
		g.pool.cfg.Log.Warn("malformed Lambda proxy response", "function", g.pool.cfg.Name, "request_id", res.RequestID, "err", err)
		writeError(w, http.StatusBadGateway, CodeBadGateway, "Internal server error", 0)
	}
}

// addPool records the cold start's init, the invocation's Duration
// ("lambda") and the integration's own time, the rest ("pool").
func (g *Integration) addPool(rec *timing.Recorder, start time.Time, res *Result) {
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
}

// parseServerTiming reads the metrics with a duration from a Server-Timing
// value ("store;dur=0.41, total;dur=0.93"); anything else is skipped.
func parseServerTiming(v string) []stMetric {
	var out []stMetric
	for _, part := range strings.Split(v, ",") {
		params := strings.Split(part, ";")
		name := strings.TrimSpace(params[0])
		if name == "" || !tokenOK(name) {
			continue
		}
		for _, p := range params[1:] {
			k, val, ok := strings.Cut(strings.TrimSpace(p), "=")
			if !ok || !strings.EqualFold(strings.TrimSpace(k), "dur") {
				continue
			}
			ms, err := strconv.ParseFloat(strings.Trim(strings.TrimSpace(val), `"`), 64)
			if err != nil || ms < 0 || ms > 1e9 {
				break
			}
			out = append(out, stMetric{name, time.Duration(ms * float64(time.Millisecond))})
			break
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

// writeError writes the contract's error body {"code","message"}, with
// Retry-After when retryAfter > 0.
func writeError(w http.ResponseWriter, status int, code, msg string, retryAfter int) {
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{code, msg})
	h := w.Header()
	if retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(retryAfter))
	}
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
