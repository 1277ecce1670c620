package apigw

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"sync"

	"github.com/aws/aws-lambda-go/events"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
)

// Adapter serves events with an http.Handler: each Serve method turns its
// event into a request, serves it, and renders the response as the
// matching response event. It is safe for concurrent use.
type Adapter struct {
	h          http.Handler
	opt        RequestOptions
	writeError func(http.ResponseWriter, error)
	pool       sync.Pool
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

// WithErrorWriter sets how an event that cannot become a request is
// answered (a bad base64 body is EINVALID, an unusable authorizer tenant
// EFORBIDDEN), so that it gets the same error body as the handler's own
// errors; itemsapi.WriteError fits. The default writes
// {"code","message"} with 400, 403 or 500.
func WithErrorWriter(fn func(http.ResponseWriter, error)) Option {
	return func(a *Adapter) { a.writeError = fn }
}

// New returns an Adapter serving events with h.
func New(h http.Handler, opts ...Option) *Adapter {
	a := &Adapter{h: h, writeError: writeError}
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

func (a *Adapter) get(method string) *ResponseWriter {
	w := a.pool.Get().(*ResponseWriter)
	w.Reset(method)
	return w
}

func (a *Adapter) serve(w *ResponseWriter, req func() (*http.Request, error)) {
	r, err := req()
	if err != nil {
		a.writeError(w, err)
		return
	}
	a.h.ServeHTTP(w, r)
}

// writeError is the default error writer.
func writeError(w http.ResponseWriter, err error) {
	status := http.StatusInternalServerError
	switch items.ErrorCode(err) {
	case items.EINVALID:
		status = http.StatusBadRequest
	case items.EFORBIDDEN:
		status = http.StatusForbidden
	}
	body, _ := json.Marshal(struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	}{items.ErrorCode(err), items.ErrorMessage(err)})
	if status == http.StatusInternalServerError {
		body = []byte(`{"code":"internal","message":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(body)
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
