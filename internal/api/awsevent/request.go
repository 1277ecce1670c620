package awsevent

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"golang.org/x/net/http/httpguts"

	"github.com/surgehq/surge/internal/items"
)

// Kind is the kind of event a request came from.
type Kind int

// The kinds of event.
const (
	// KindUnknown is a payload that is none of the others, such as a
	// direct invocation with an application's own event.
	KindUnknown Kind = iota
	// KindV1 is a REST API proxy event (also an HTTP API event with
	// payload format 1.0, which has the same shape).
	KindV1
	// KindV2 is an HTTP API event with payload format 2.0.
	KindV2
	// KindFunctionURL is a Lambda function URL event. Its shape is the
	// HTTP API 2.0 shape, so Detect reports it as KindV2; only
	// RequestFromFunctionURL sets it.
	KindFunctionURL
)

// String returns the kind's name, as logs show it.
func (k Kind) String() string {
	switch k {
	case KindV1:
		return "apigw-v1"
	case KindV2:
		return "apigw-v2"
	case KindFunctionURL:
		return "function-url"
	}
	return "unknown"
}

// Info is what a handler may learn about the event its request came from.
// RequestFromV1, RequestFromV2 and RequestFromFunctionURL put one in the
// request's context.
type Info struct {
	Kind Kind
	// RequestID is requestContext.requestId: API Gateway's id of the
	// request (the function URL's, for a function URL).
	RequestID string
	// Stage is the API's stage ("$default" for HTTP APIs without one).
	Stage string
	// Route is the resource (v1, "/items/{id}") or route key (v2,
	// "GET /items/{id}" or "$default") that matched.
	Route string
	// Tenant is the tenant taken from the authorizer, "" when there was
	// none (the request is then the default tenant's).
	Tenant string
}

type infoKey struct{}

// FromContext returns the Info of the event a request came from, or nil
// when the request did not come from an event.
func FromContext(ctx context.Context) *Info {
	in, _ := ctx.Value(infoKey{}).(*Info)
	return in
}

// RequestOptions tune how events become requests.
type RequestOptions struct {
	// APIKeyTenant makes a v1 request without an authorizer tenant the
	// tenant of the API key that API Gateway validated for it
	// (requestContext.identity.apiKeyId). API Gateway sets that field only
	// on methods that require an API key, and a client cannot set it; use
	// it when every method does, as deploy/aws/template.yaml has it.
	APIKeyTenant bool
	// KeepStage keeps the stage name at the front of a v2 path. HTTP API
	// puts "/STAGE" in front of rawPath for every stage but "$default";
	// by default it is cut off so that routes match as they are written.
	// Keep it when the API is served through a custom domain mapping, which
	// does not add it.
	KeepStage bool
}

// RequestFromV1 returns the HTTP request that a REST API proxy event
// carries, with ctx (plus the tenant and an Info) as its context.
// An EINVALID *items.Error if the event is malformed (no method, a body
// that is not base64 when it says it is), and EFORBIDDEN if the authorizer
// gave a tenant that is not usable.
func RequestFromV1(ctx context.Context, ev *events.APIGatewayProxyRequest, opt RequestOptions) (*http.Request, error) {
	rc := &ev.RequestContext
	tenant, err := authorizerTenant(rc.Authorizer)
	if err != nil {
		return nil, err
	}
	if tenant == "" && opt.APIKeyTenant && rc.Identity.APIKeyID != "" {
		tenant = rc.Identity.APIKeyID
		if items.ValidateTenant(tenant) != nil {
			return nil, items.Errorf(items.EFORBIDDEN, "The API key id is not a usable tenant.")
		}
	}
	p := parts{
		method:   ev.HTTPMethod,
		path:     ev.Path,
		rawQuery: encodeQuery(ev.MultiValueQueryStringParameters, ev.QueryStringParameters),
		header:   makeHeader(ev.MultiValueHeaders, ev.Headers),
		body:     ev.Body,
		base64:   ev.IsBase64Encoded,
		sourceIP: rc.Identity.SourceIP,
		proto:    rc.Protocol,
		domain:   rc.DomainName,
		params:   ev.PathParameters,
		info: &Info{Kind: KindV1, RequestID: rc.RequestID, Stage: rc.Stage,
			Route: ev.Resource, Tenant: tenant},
	}
	return p.request(ctx)
}

// RequestFromV2 returns the HTTP request that an HTTP API (payload format
// 2.0) event carries; see RequestFromV1 for the errors.
func RequestFromV2(ctx context.Context, ev *events.APIGatewayV2HTTPRequest, opt RequestOptions) (*http.Request, error) {
	rc := &ev.RequestContext
	var tenant string
	if rc.Authorizer != nil {
		var err error
		if tenant, err = authorizerTenant(rc.Authorizer.Lambda); err != nil {
			return nil, err
		}
	}
	path := ev.RawPath
	if !opt.KeepStage {
		path = stripStage(path, rc.Stage)
	}
	p := parts{
		method:   rc.HTTP.Method,
		path:     path,
		escaped:  true,
		rawQuery: ev.RawQueryString,
		header:   makeHeader(nil, ev.Headers),
		cookies:  ev.Cookies,
		body:     ev.Body,
		base64:   ev.IsBase64Encoded,
		sourceIP: rc.HTTP.SourceIP,
		proto:    rc.HTTP.Protocol,
		domain:   rc.DomainName,
		params:   ev.PathParameters,
		info: &Info{Kind: KindV2, RequestID: rc.RequestID, Stage: rc.Stage,
			Route: ev.RouteKey, Tenant: tenant},
	}
	if p.rawQuery == "" && len(ev.QueryStringParameters) > 0 {
		p.rawQuery = encodeQuery(nil, ev.QueryStringParameters)
	}
	return p.request(ctx)
}

// RequestFromFunctionURL returns the HTTP request that a Lambda function
// URL event carries; see RequestFromV1 for the errors. A function URL has
// no Lambda authorizer (only IAM or none), so its requests are the
// default tenant's.
func RequestFromFunctionURL(ctx context.Context, ev *events.LambdaFunctionURLRequest) (*http.Request, error) {
	rc := &ev.RequestContext
	p := parts{
		method:   rc.HTTP.Method,
		path:     ev.RawPath,
		escaped:  true,
		rawQuery: ev.RawQueryString,
		header:   makeHeader(nil, ev.Headers),
		cookies:  ev.Cookies,
		body:     ev.Body,
		base64:   ev.IsBase64Encoded,
		sourceIP: rc.HTTP.SourceIP,
		proto:    rc.HTTP.Protocol,
		domain:   rc.DomainName,
		info:     &Info{Kind: KindFunctionURL, RequestID: rc.RequestID, Stage: "$default", Route: "$default"},
	}
	if p.rawQuery == "" && len(ev.QueryStringParameters) > 0 {
		p.rawQuery = encodeQuery(nil, ev.QueryStringParameters)
	}
	return p.request(ctx)
}

// parts are the pieces of a request, whichever event they came from.
type parts struct {
	method   string
	path     string
	escaped  bool // path may hold percent-escapes (v2 rawPath)
	rawQuery string
	header   http.Header
	cookies  []string
	body     string
	base64   bool
	sourceIP string
	proto    string
	domain   string
	params   map[string]string
	info     *Info
}

func (p *parts) request(ctx context.Context) (*http.Request, error) {
	if p.method == "" || !httpguts.ValidHeaderFieldName(p.method) {
		// A method is a token, as a header name is.
		return nil, items.Errorf(items.EINVALID, "The event has no valid HTTP method.")
	}
	u := &url.URL{Path: p.path, RawQuery: p.rawQuery}
	if p.escaped && strings.IndexByte(p.path, '%') >= 0 {
		if dec, err := url.PathUnescape(p.path); err == nil {
			u.Path, u.RawPath = dec, p.path
		}
	}
	if u.Path == "" || u.Path[0] != '/' {
		u.Path, u.RawPath = "/"+u.Path, ""
	}

	var body []byte
	if p.base64 {
		var err error
		if body, err = base64.StdEncoding.DecodeString(p.body); err != nil {
			return nil, items.Errorf(items.EINVALID, "The event's body is not valid base64.")
		}
	} else if p.body != "" {
		body = []byte(p.body)
	}

	h := p.header
	if len(p.cookies) > 0 {
		h.Set("Cookie", strings.Join(p.cookies, "; "))
	}
	host := h.Get("Host")
	if host == "" {
		host = p.domain
	}
	delete(h, "Host")
	if _, ok := h["Content-Length"]; ok {
		h["Content-Length"] = []string{strconv.Itoa(len(body))}
	}
	major, minor, ok := http.ParseHTTPVersion(p.proto)
	if !ok {
		p.proto, major, minor = "HTTP/1.1", 1, 1
	}

	ctx = context.WithValue(ctx, infoKey{}, p.info)
	if p.info.Tenant != "" {
		ctx = items.WithTenant(ctx, p.info.Tenant)
	}
	r := &http.Request{
		Method:        p.method,
		URL:           u,
		Proto:         p.proto,
		ProtoMajor:    major,
		ProtoMinor:    minor,
		Header:        h,
		Host:          host,
		RequestURI:    u.RequestURI(),
		ContentLength: int64(len(body)),
		Body:          http.NoBody,
	}
	if len(body) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	if p.sourceIP != "" {
		r.RemoteAddr = net.JoinHostPort(p.sourceIP, "0")
	}
	r = r.WithContext(ctx)
	for k, v := range p.params {
		r.SetPathValue(k, v)
	}
	return r, nil
}

// authorizerTenant returns the "tenant" of an authorizer's context: a
// string, or a number as API Gateway passes numbers through. "" when
// there is none.
func authorizerTenant(auth map[string]any) (string, error) {
	v, ok := auth["tenant"]
	if !ok || v == nil {
		return "", nil
	}
	var t string
	switch v := v.(type) {
	case string:
		t = v
	case float64:
		t = strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return "", items.Errorf(items.EFORBIDDEN, "The authorizer's tenant is not usable.")
	}
	if items.ValidateTenant(t) != nil {
		return "", items.Errorf(items.EFORBIDDEN, "The authorizer's tenant is not usable.")
	}
	return t, nil
}

// makeHeader builds a request header from an event's multi-value and
// single-value header maps. API Gateway sends both, with the same names;
// the multi-value map wins where both have a name, and a name only in the
// single-value map (a hand-made event) is kept too.
func makeHeader(multi map[string][]string, single map[string]string) http.Header {
	h := make(http.Header, max(len(multi), len(single)))
	for k, vs := range multi {
		if len(vs) == 0 {
			continue
		}
		k = http.CanonicalHeaderKey(k)
		h[k] = append(h[k], vs...)
	}
	for k, v := range single {
		ck := http.CanonicalHeaderKey(k)
		if _, ok := h[ck]; ok {
			continue
		}
		if len(multi) > 0 && hasFold(multi, k) {
			continue
		}
		h[ck] = []string{v}
	}
	return h
}

// hasFold reports whether m has a non-empty entry named k in any case.
func hasFold(m map[string][]string, k string) bool {
	for mk, vs := range m {
		if len(vs) > 0 && strings.EqualFold(mk, k) {
			return true
		}
	}
	return false
}

// encodeQuery encodes an event's query parameters, multi-value first, in
// name order (the maps have none, and a stable order keeps requests, logs
// and cache keys the same for the same query).
func encodeQuery(multi map[string][]string, single map[string]string) string {
	if len(multi) == 0 && len(single) == 0 {
		return ""
	}
	names := make([]string, 0, max(len(multi), len(single)))
	for k := range multi {
		names = append(names, k)
	}
	for k := range single {
		if _, ok := multi[k]; !ok {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		vs, ok := multi[k]
		if !ok {
			vs = []string{single[k]}
		}
		ek := url.QueryEscape(k)
		for _, v := range vs {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(ek)
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(v))
		}
	}
	return b.String()
}

// stripStage cuts "/STAGE" off the front of an HTTP API path.
func stripStage(path, stage string) string {
	if stage == "" || stage == "$default" {
		return path
	}
	rest, ok := strings.CutPrefix(path, "/"+stage)
	if !ok {
		return path
	}
	if rest == "" {
		return "/"
	}
	if rest[0] != '/' {
		return path // "/prodx/..." under stage "prod"
	}
	return rest
}
