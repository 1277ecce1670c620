package awsevent

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/google/uuid"

	"github.com/surgehq/surge/internal/items"
)

// NewV2Event returns the HTTP API (payload format 2.0) event that API
// Gateway would send a Lambda proxy integration for r, reading r's body:
// header names in lower case, several values of a header (or of a query
// parameter) joined with commas, the cookies apart, the route key as
// "METHOD /resource" (or "$default" for a request no route of the API
// matched), and a body that is not text, or not UTF-8, in base64. The
// options are NewV1Event's: the resource and its parameters from
// opt.Resource, or r's ServeMux pattern; the tenant where a Lambda
// authorizer puts it (requestContext.authorizer.lambda.tenant).
func NewV2Event(r *http.Request, opt EventOptions) (*events.APIGatewayV2HTTPRequest, error) {
	limit := opt.MaxBody
	if limit <= 0 {
		limit = MaxEventBody
	}
	var body []byte
	if r.Body != nil && r.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
		if err != nil {
			return nil, fmt.Errorf("awsevent: read request body: %w", err)
		}
		if int64(len(b)) > limit {
			return nil, items.Errorf(items.ETOOLARGE, "The request body is over %d bytes.", limit)
		}
		body = b
	}
	stage := opt.Stage
	if stage == "" {
		stage = "$default"
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	id := opt.RequestID
	if id == "" {
		id = uuid.NewString()
	}
	res, params := opt.Resource, opt.PathParameters
	routeKey := "$default"
	if res == "" && r.Pattern != "" {
		res, params = resource(r, opt)
	}
	if res != "" {
		routeKey = r.Method + " " + res
		if !strings.Contains(r.Pattern, " ") && r.Pattern != "" {
			routeKey = "ANY " + res // a route of every method
		}
	}
	path := r.URL.EscapedPath()
	if path == "" {
		path = "/"
	}
	if stage != "$default" {
		path = "/" + stage + path
	}
	ev := &events.APIGatewayV2HTTPRequest{
		Version:        "2.0",
		RouteKey:       routeKey,
		RawPath:        path,
		RawQueryString: r.URL.RawQuery,
		PathParameters: params,
		StageVariables: opt.StageVariables,
	}
	ev.Headers = make(map[string]string, len(r.Header)+1)
	for k, vs := range r.Header {
		if len(vs) == 0 {
			continue
		}
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						ev.Cookies = append(ev.Cookies, c)
					}
				}
			}
			continue
		}
		ev.Headers[lk] = strings.Join(vs, ",")
	}
	if r.Host != "" {
		ev.Headers["host"] = r.Host
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		for k, vs := range q {
			ev.QueryStringParameters[k] = strings.Join(vs, ",")
		}
	}
	if len(body) > 0 {
		if IsText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(sourceIP); err == nil {
		sourceIP = host
	}
	ev.RequestContext = events.APIGatewayV2HTTPRequestContext{
		RouteKey:     routeKey,
		AccountID:    opt.AccountID,
		Stage:        stage,
		RequestID:    id,
		APIID:        opt.APIID,
		DomainName:   r.Host,
		Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		TimeEpoch:    now.UnixMilli(),
		DomainPrefix: strings.SplitN(r.Host, ".", 2)[0],
		HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
			Method: r.Method, Path: path, Protocol: r.Proto, SourceIP: sourceIP, UserAgent: r.UserAgent(),
		},
	}
	if opt.Tenant != "" {
		ev.RequestContext.Authorizer = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			Lambda: map[string]any{"tenant": opt.Tenant}}
	}
	return ev, nil
}

// WriteV2Response writes a function's answer to an HTTP API (payload
// format 2.0) event to w as API Gateway answers a client with it. An
// answer that is a JSON object with a statusCode is a response event:
// its status, headers (a value may join several with commas), cookies
// (each a Set-Cookie) and body, base64-decoded when it says so. Any other
// valid JSON is the body itself, with status 200 and Content-Type
// application/json, as API Gateway infers the response then. A response
// event without a Content-Type gets application/json too. A payload that
// is not JSON, or a malformed response event, writes nothing and returns
// an error, where API Gateway answers 500.
func WriteV2Response(w http.ResponseWriter, payload []byte) error {
	trimmed := bytes.TrimSpace(payload)
	if !json.Valid(trimmed) {
		return fmt.Errorf("awsevent: malformed response: not JSON")
	}
	var resp events.APIGatewayV2HTTPResponse
	structured := false
	if len(trimmed) > 0 && trimmed[0] == '{' {
		var probe map[string]json.RawMessage
		if err := json.Unmarshal(trimmed, &probe); err == nil {
			if _, ok := probe["statusCode"]; ok {
				if err := json.Unmarshal(trimmed, &resp); err != nil {
					return fmt.Errorf("awsevent: malformed response: %w", err)
				}
				structured = true
			}
		}
	}
	h := w.Header()
	if !structured {
		h.Set("Content-Type", "application/json")
		h.Set("Content-Length", strconv.Itoa(len(trimmed)))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(trimmed)
		return err
	}
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("awsevent: malformed response: status %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("awsevent: malformed response: body: %w", err)
		}
	}
	for k, v := range resp.Headers {
		if headerOK(k, v) {
			h[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	for _, c := range resp.Cookies {
		if headerOK("Set-Cookie", c) {
			h.Add("Set-Cookie", c)
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
	if h.Get("Content-Type") == "" {
		h.Set("Content-Type", "application/json")
	}
	if bodyAllowed(resp.StatusCode) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	} else {
		body = nil
	}
	w.WriteHeader(resp.StatusCode)
	if len(body) > 0 {
		if _, err := w.Write(body); err != nil {
			return fmt.Errorf("awsevent: write response body: %w", err)
		}
	}
	return nil
}
