package awsevent

import (
	"bytes"
	"encoding/base64"
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
	"golang.org/x/net/http/httpguts"

	"github.com/surgehq/surge/internal/items"
)

// MaxEventBody is the largest request body NewV1Event puts in an event by
// default: API Gateway's payload limit (10 MB). Lambda's own limit on a
// synchronous invocation's event is 6 MB, which a function runtime
// enforces.
const MaxEventBody = 10 << 20

// EventOptions are the facts of a v1 event that an *http.Request does not
// hold: what API Gateway knows about its API, stage and authorizer.
type EventOptions struct {
	// Resource is the API's resource that matched, such as "/items/{id}".
	// When empty, it comes from the request's ServeMux pattern if it was
	// routed by one (r.Pattern, with its path values as the path
	// parameters), else it is "/{proxy+}" with the path as "proxy", as a
	// greedy proxy resource gives.
	Resource string
	// PathParameters are the resource's path parameters; nil means as
	// Resource's explanation says.
	PathParameters map[string]string
	// Stage is the stage name (default "local").
	Stage string
	// RequestID is API Gateway's request id (default a new UUID).
	RequestID string
	// Tenant, when set, is put where a Lambda authorizer puts it:
	// requestContext.authorizer.tenant.
	Tenant string
	// APIKeyID and APIKey go in requestContext.identity, as API Gateway
	// fills them for a method that requires a key.
	APIKeyID, APIKey string
	// APIID and AccountID fill the request context's ids.
	APIID, AccountID string
	// StageVariables are the stage's variables.
	StageVariables map[string]string
	// Now is the request's time (default time.Now()).
	Now time.Time
	// MaxBody caps the body (default MaxEventBody); a larger one is an
	// ETOOLARGE error, as API Gateway answers 413.
	MaxBody int64
}

// NewV1Event returns the REST API proxy event that API Gateway would send
// a Lambda proxy integration for r, reading r's body. Headers and query
// parameters appear with all their values in the multi-value maps and
// with their last value in the single-value ones, as API Gateway sends
// them; a body that is not text (see IsText) or not UTF-8 is base64.
// ETOOLARGE if the body is over the limit; a read error is returned as is.
func NewV1Event(r *http.Request, opt EventOptions) (*events.APIGatewayProxyRequest, error) {
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

	ev := &events.APIGatewayProxyRequest{
		HTTPMethod:     r.Method,
		Path:           r.URL.Path,
		StageVariables: opt.StageVariables,
	}
	if ev.Path == "" {
		ev.Path = "/"
	}
	ev.Resource, ev.PathParameters = resource(r, opt)

	n := len(r.Header) + 1
	ev.Headers = make(map[string]string, n)
	ev.MultiValueHeaders = make(map[string][]string, n)
	for k, vs := range r.Header {
		if len(vs) == 0 {
			continue
		}
		ev.Headers[k] = vs[len(vs)-1]
		ev.MultiValueHeaders[k] = vs
	}
	if r.Host != "" {
		ev.Headers["Host"] = r.Host
		ev.MultiValueHeaders["Host"] = []string{r.Host}
	}
	if q := r.URL.Query(); len(q) > 0 {
		ev.QueryStringParameters = make(map[string]string, len(q))
		ev.MultiValueQueryStringParameters = q
		for k, vs := range q {
			ev.QueryStringParameters[k] = vs[len(vs)-1]
		}
	}
	if len(body) > 0 {
		if IsText(r.Header.Get("Content-Type")) && utf8.Valid(body) {
			ev.Body = string(body)
		} else {
			ev.Body, ev.IsBase64Encoded = base64.StdEncoding.EncodeToString(body), true
		}
	}

	stage := opt.Stage
	if stage == "" {
		stage = "local"
	}
	now := opt.Now
	if now.IsZero() {
		now = time.Now()
	}
	id := opt.RequestID
	if id == "" {
		id = uuid.NewString()
	}
	sourceIP := r.RemoteAddr
	if host, _, err := net.SplitHostPort(sourceIP); err == nil {
		sourceIP = host
	}
	ev.RequestContext = events.APIGatewayProxyRequestContext{
		AccountID:        opt.AccountID,
		APIID:            opt.APIID,
		Stage:            stage,
		DomainName:       r.Host,
		RequestID:        id,
		Protocol:         r.Proto,
		ResourcePath:     ev.Resource,
		Path:             "/" + stage + ev.Path,
		HTTPMethod:       r.Method,
		RequestTime:      now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
		RequestTimeEpoch: now.UnixMilli(),
		Identity: events.APIGatewayRequestIdentity{
			SourceIP:  sourceIP,
			UserAgent: r.UserAgent(),
			APIKey:    opt.APIKey,
			APIKeyID:  opt.APIKeyID,
		},
	}
	if opt.Tenant != "" {
		ev.RequestContext.Authorizer = map[string]any{"tenant": opt.Tenant}
	}
	return ev, nil
}

// resource returns the event's resource and path parameters.
func resource(r *http.Request, opt EventOptions) (string, map[string]string) {
	if opt.Resource != "" {
		return opt.Resource, opt.PathParameters
	}
	if r.Pattern != "" {
		// A ServeMux pattern is "[METHOD ][HOST]/PATH"; API Gateway writes
		// "{name...}" as "{name+}" and has no "{$}".
		pat := r.Pattern
		if i := strings.IndexByte(pat, '/'); i >= 0 {
			pat = pat[i:]
		}
		pat = strings.TrimSuffix(pat, "{$}")
		var params map[string]string
		var b strings.Builder
		for {
			i := strings.IndexByte(pat, '{')
			j := strings.IndexByte(pat, '}')
			if i < 0 || j < i {
				b.WriteString(pat)
				break
			}
			b.WriteString(pat[:i+1])
			name, greedy := strings.CutSuffix(pat[i+1:j], "...")
			b.WriteString(name)
			if greedy {
				b.WriteByte('+')
			}
			b.WriteByte('}')
			if params == nil {
				params = make(map[string]string)
			}
			params[name] = r.PathValue(name)
			pat = pat[j+1:]
		}
		return b.String(), params
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	if path == "" {
		return "/", nil
	}
	return "/{proxy+}", map[string]string{"proxy": path}
}

// WriteV1Response writes a REST API proxy response event to w as API
// Gateway answers a client with it: the status, the headers of both maps
// (multiValueHeaders wins for a name in both), and the body, base64-decoded
// when the event says so. Content-Length is set from the body; hop-by-hop
// headers and invalid header fields are dropped. It writes nothing and
// returns an error when the event is malformed (a status outside 100..599,
// a body that is not base64), where API Gateway answers 502.
func WriteV1Response(w http.ResponseWriter, resp *events.APIGatewayProxyResponse) error {
	if resp.StatusCode < 100 || resp.StatusCode > 599 {
		return fmt.Errorf("awsevent: malformed proxy response: status %d", resp.StatusCode)
	}
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		var err error
		if body, err = base64.StdEncoding.DecodeString(resp.Body); err != nil {
			return fmt.Errorf("awsevent: malformed proxy response: body: %w", err)
		}
	}
	h := w.Header()
	for k, v := range resp.Headers {
		if resp.MultiValueHeaders != nil && hasFold(resp.MultiValueHeaders, k) {
			continue
		}
		if headerOK(k, v) {
			h[http.CanonicalHeaderKey(k)] = []string{v}
		}
	}
	for k, vs := range resp.MultiValueHeaders {
		ck := http.CanonicalHeaderKey(k)
		for _, v := range vs {
			if headerOK(k, v) {
				h[ck] = append(h[ck], v)
			}
		}
	}
	for _, k := range hopByHop {
		delete(h, k)
	}
	if bodyAllowed(resp.StatusCode) {
		h.Set("Content-Length", strconv.Itoa(len(body)))
	} else {
		body = nil
	}
	w.WriteHeader(resp.StatusCode)
	if len(body) > 0 {
		if _, err := io.Copy(w, bytes.NewReader(body)); err != nil {
			return fmt.Errorf("awsevent: write response body: %w", err)
		}
	}
	return nil
}

// hopByHop are the headers that describe one connection, which a gateway
// does not forward, and Content-Length, which WriteV1Response sets itself.
var hopByHop = []string{"Connection", "Keep-Alive", "Proxy-Connection", "Transfer-Encoding", "Upgrade", "Te", "Trailer", "Content-Length"}

func headerOK(k, v string) bool {
	return httpguts.ValidHeaderFieldName(k) && httpguts.ValidHeaderFieldValue(v)
}
