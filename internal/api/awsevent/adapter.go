package awsevent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/api/rest"
)

// Adapter serves events with an http.Handler: each Serve method turns its
// event into a request, serves it, and renders the response as the
// matching response event. It is safe for concurrent use.
type Adapter struct {
	h      http.Handler
	opt    RequestOptions
	direct func(ctx context.Context, payload []byte) ([]byte, error)
	pool   sync.Pool
}

// Option configures an Adapter.
type Option func(*Adapter)

// WithAPIKeyTenant takes a v1 request's tenant from the API key API
// Gateway validated when the authorizer gives none (see
// RequestOptions.APIKeyTenant).
func WithAPIKeyTenant(on bool) Option { return func(a *Adapter) { a.opt.APIKeyTenant = on } }

// WithKeepStage keeps the stage at the front of v2 paths (see
// RequestOptions.KeepStage).
func WithKeepStage(on bool) Option { return func(a *Adapter) { a.opt.KeepStage = on } }

// WithDirect sets how Invoke answers a payload that is no HTTP event: a
// direct invocation with an application's own event. Without it, such a
// payload is an error.
func WithDirect(fn func(ctx context.Context, payload []byte) ([]byte, error)) Option {
	return func(a *Adapter) { a.direct = fn }
}

// New returns an Adapter serving events with h.
func New(h http.Handler, opts ...Option) *Adapter {
	a := &Adapter{h: h}
	for _, o := range opts {
		o(a)
	}
	a.pool.New = func() any { return NewResponseWriter("") }
	return a
}

// RequestOptions returns the options the Adapter converts events with.
func (a *Adapter) RequestOptions() RequestOptions { return a.opt }

// ServeV1 answers a REST API proxy event. It never fails: an event that
// cannot become a request is answered with an error response.
func (a *Adapter) ServeV1(ctx context.Context, ev *events.APIGatewayProxyRequest) *events.APIGatewayProxyResponse {
	w := a.get(ev.HTTPMethod)
	defer a.pool.Put(w)
	a.serve(w, func() (*http.Request, error) { return RequestFromV1(ctx, ev, a.opt) })
	return w.V1()
}

// ServeV2 answers an HTTP API (payload format 2.0) event; see ServeV1.
// It answers function URL events too, whose shape is the same.
func (a *Adapter) ServeV2(ctx context.Context, ev *events.APIGatewayV2HTTPRequest) *events.APIGatewayV2HTTPResponse {
	w := a.get(ev.RequestContext.HTTP.Method)
	defer a.pool.Put(w)
	a.serve(w, func() (*http.Request, error) { return RequestFromV2(ctx, ev, a.opt) })
	return w.V2()
}

// ServeFunctionURL answers a Lambda function URL event; see ServeV1.
func (a *Adapter) ServeFunctionURL(ctx context.Context, ev *events.LambdaFunctionURLRequest) *events.LambdaFunctionURLResponse {
	w := a.get(ev.RequestContext.HTTP.Method)
	defer a.pool.Put(w)
	a.serve(w, func() (*http.Request, error) { return RequestFromFunctionURL(ctx, ev) })
	return w.FunctionURL()
}

// Invoke answers a raw Lambda payload, as aws-lambda-go's lambda.Handler
// does (so an Adapter can be passed to lambda.Start): the payload is
// inspected once (Detect) and decoded as the event it is, served, and the
// response event returned as JSON. A v2-shaped event that came through a
// function URL (its domain is *.lambda-url.*) is answered as one. A payload
// of no known kind goes to the WithDirect function. The error is a
// function error, which the runtime reports and API Gateway answers with
// 502: a payload of a detected kind that does not decode, or one of no
// kind without WithDirect.
func (a *Adapter) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	switch Detect(payload) {
	case KindV1:
		var ev events.APIGatewayProxyRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("awsevent: decode REST API event: %w", err)
		}
		return json.Marshal(a.ServeV1(ctx, &ev))
	case KindV2:
		var ev events.APIGatewayV2HTTPRequest
		if err := json.Unmarshal(payload, &ev); err != nil {
			return nil, fmt.Errorf("awsevent: decode HTTP API event: %w", err)
		}
		if IsFunctionURL(&ev) {
			return json.Marshal(a.ServeFunctionURL(ctx, FunctionURLEvent(&ev)))
		}
		return json.Marshal(a.ServeV2(ctx, &ev))
	}
	if a.direct == nil {
		return nil, errors.New("awsevent: the payload is not an API Gateway or function URL event")
	}
	return a.direct(ctx, payload)
}

// IsFunctionURL tells a function URL event, decoded as the HTTP API event
// whose shape it shares, by the domain it came through.
func IsFunctionURL(ev *events.APIGatewayV2HTTPRequest) bool {
	return strings.Contains(ev.RequestContext.DomainName, ".lambda-url.")
}

// FunctionURLEvent re-types a function URL event that was decoded as an
// HTTP API one. A function URL has no Lambda authorizer, so nothing that
// could carry a tenant is copied.
func FunctionURLEvent(ev *events.APIGatewayV2HTTPRequest) *events.LambdaFunctionURLRequest {
	rc := &ev.RequestContext
	out := &events.LambdaFunctionURLRequest{
		Version: ev.Version, RawPath: ev.RawPath, RawQueryString: ev.RawQueryString,
		Cookies: ev.Cookies, Headers: ev.Headers, QueryStringParameters: ev.QueryStringParameters,
		Body: ev.Body, IsBase64Encoded: ev.IsBase64Encoded,
	}
	out.RequestContext = events.LambdaFunctionURLRequestContext{
		AccountID: rc.AccountID, RequestID: rc.RequestID, APIID: rc.APIID,
		DomainName: rc.DomainName, DomainPrefix: rc.DomainPrefix, Time: rc.Time, TimeEpoch: rc.TimeEpoch,
		HTTP: events.LambdaFunctionURLRequestContextHTTPDescription(rc.HTTP),
	}
	return out
}

func (a *Adapter) get(method string) *ResponseWriter {
	w := a.pool.Get().(*ResponseWriter)
	w.Reset(method)
	return w
}

func (a *Adapter) serve(w *ResponseWriter, req func() (*http.Request, error)) {
	r, err := req()
	if err != nil {
		// The contract's error body, as the handler's own errors: a bad
		// base64 body is EINVALID, an unusable authorizer tenant
		// EFORBIDDEN.
		rest.WriteError(w, err)
		return
	}
	a.h.ServeHTTP(w, r)
}

// Detect tells which kind of event payload is by its top-level members,
// without decoding it: "httpMethod" makes a v1 event, "version" "2.0"
// with "rawPath" a v2 or function URL event (KindV2: they share a shape),
// and anything else, including a payload that is not a JSON object, is
// KindUnknown. It reads no further than it must.
func Detect(payload []byte) Kind {
	d := jsontext.NewDecoder(bytes.NewReader(payload))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return KindUnknown
	}
	var v2, rawPath bool
	for d.PeekKind() == '"' {
		name, err := d.ReadToken()
		if err != nil {
			return KindUnknown
		}
		switch name.String() {
		case "httpMethod":
			if d.PeekKind() == '"' {
				return KindV1
			}
		case "version":
			if d.PeekKind() == '"' {
				tok, err := d.ReadToken()
				if err != nil {
					return KindUnknown
				}
				v2 = tok.String() == "2.0"
				if v2 && rawPath {
					return KindV2
				}
				continue
			}
		case "rawPath":
			rawPath = true
			if v2 {
				return KindV2
			}
		}
		if err := d.SkipValue(); err != nil {
			return KindUnknown
		}
	}
	return KindUnknown
}
