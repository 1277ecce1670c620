package awsevent

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
)

// ResponseWriter is an http.ResponseWriter that keeps a handler's response
// in memory, to render it as a response event once the handler returns.
// Like net/http's, it takes the header as it was at WriteHeader (or the
// first Write), answers 200 when the handler wrote no status, drops the
// body of HEAD requests and of statuses that have none, and sniffs a
// missing Content-Type. It is not safe for concurrent use.
type ResponseWriter struct {
	header http.Header
	// sent is the header as it was when the status was written.
	sent   http.Header
	status int
	body   bytes.Buffer
	head   bool
}

// NewResponseWriter returns a ResponseWriter for a request with the given
// method (a HEAD request's body is dropped).
func NewResponseWriter(method string) *ResponseWriter {
	return &ResponseWriter{header: make(http.Header), head: method == http.MethodHead}
}

// Header implements http.ResponseWriter.
func (w *ResponseWriter) Header() http.Header { return w.header }

// WriteHeader implements http.ResponseWriter. Informational (1xx) statuses
// are ignored: an event has one response.
func (w *ResponseWriter) WriteHeader(code int) {
	if w.status != 0 || (code >= 100 && code < 200 && code != http.StatusSwitchingProtocols) {
		return
	}
	if code < 100 || code > 999 {
		code = http.StatusInternalServerError
	}
	w.status = code
	w.sent = w.header.Clone()
}

// Write implements http.ResponseWriter.
func (w *ResponseWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	if w.head || !bodyAllowed(w.status) {
		return len(p), nil
	}
	return w.body.Write(p)
}

// Flush implements http.Flusher; the response is sent when the handler
// returns, so there is nothing to do.
func (w *ResponseWriter) Flush() {}

// Status returns the response's status: 200 if the handler wrote none.
func (w *ResponseWriter) Status() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// Body returns the response body written so far; it aliases the writer's
// buffer.
func (w *ResponseWriter) Body() []byte { return w.body.Bytes() }

// Reset makes w ready for another request with the given method, keeping
// its buffer.
func (w *ResponseWriter) Reset(method string) {
	w.header = make(http.Header)
	w.sent = nil
	w.status = 0
	w.body.Reset()
	w.head = method == http.MethodHead
}

// final returns the header as sent, with a Content-Type sniffed from the
// body where the handler set none, as net/http does.
func (w *ResponseWriter) final() http.Header {
	h := w.sent
	if h == nil {
		h = w.header
	}
	// A Content-Type set to nil or an empty list asks for none (net/http's
	// rule), so only a missing one is sniffed.
	if _, ok := h["Content-Type"]; !ok && w.body.Len() > 0 && h.Get("Content-Encoding") == "" {
		b := w.body.Bytes()
		h.Set("Content-Type", http.DetectContentType(b[:min(len(b), 512)]))
	}
	return h
}

// encodeBody returns the body as an event carries it: as is when it is
// text, else base64.
func (w *ResponseWriter) encodeBody(h http.Header) (string, bool) {
	b := w.body.Bytes()
	if len(b) == 0 {
		return "", false
	}
	if IsText(h.Get("Content-Type")) && utf8.Valid(b) {
		return string(b), false
	}
	return base64.StdEncoding.EncodeToString(b), true
}

// V1 returns the response as a REST API proxy response event: headers
// with one value in Headers, headers with several in MultiValueHeaders
// (API Gateway merges the two).
func (w *ResponseWriter) V1() *events.APIGatewayProxyResponse {
	h := w.final()
	resp := &events.APIGatewayProxyResponse{StatusCode: w.Status()}
	for k, vs := range h {
		switch len(vs) {
		case 0:
		case 1:
			if resp.Headers == nil {
				resp.Headers = make(map[string]string, len(h))
			}
			resp.Headers[k] = vs[0]
		default:
			if resp.MultiValueHeaders == nil {
				resp.MultiValueHeaders = make(map[string][]string)
			}
			resp.MultiValueHeaders[k] = vs
		}
	}
	resp.Body, resp.IsBase64Encoded = w.encodeBody(h)
	return resp
}

// V2 returns the response as an HTTP API (payload format 2.0) response
// event: several values of a header joined with commas, as that format
// wants, and each Set-Cookie in Cookies.
func (w *ResponseWriter) V2() *events.APIGatewayV2HTTPResponse {
	h := w.final()
	resp := &events.APIGatewayV2HTTPResponse{StatusCode: w.Status()}
	resp.Headers, resp.Cookies = joinHeader(h)
	resp.Body, resp.IsBase64Encoded = w.encodeBody(h)
	return resp
}

// FunctionURL returns the response as a function URL response event, the
// same shape as V2's.
func (w *ResponseWriter) FunctionURL() *events.LambdaFunctionURLResponse {
	h := w.final()
	resp := &events.LambdaFunctionURLResponse{StatusCode: w.Status()}
	resp.Headers, resp.Cookies = joinHeader(h)
	resp.Body, resp.IsBase64Encoded = w.encodeBody(h)
	return resp
}

// joinHeader flattens h for payload format 2.0.
func joinHeader(h http.Header) (map[string]string, []string) {
	out := make(map[string]string, len(h))
	var cookies []string
	for k, vs := range h {
		if len(vs) == 0 {
			continue
		}
		if k == "Set-Cookie" {
			cookies = append(cookies, vs...)
			continue
		}
		if len(vs) == 1 {
			out[k] = vs[0]
		} else {
			out[k] = strings.Join(vs, ",")
		}
	}
	return out, cookies
}

// bodyAllowed reports whether a response with status may have a body
// (RFC 9110: not 1xx, 204 or 304).
func bodyAllowed(status int) bool {
	return !(status >= 100 && status <= 199) && status != http.StatusNoContent && status != http.StatusNotModified
}

// IsText reports whether a body of the given Content-Type is text, which
// an event carries as is; any other body is carried base64-encoded, as API
// Gateway does for binary media types. Text is text/*, JSON, XML,
// JavaScript, YAML, form data and any +json or +xml type.
func IsText(contentType string) bool {
	// Parameters (charset) do not matter, and media types are case
	// insensitive; this runs on every response, so it does not allocate.
	mt, _, _ := strings.Cut(contentType, ";")
	mt = strings.TrimSpace(mt)
	if len(mt) >= 5 && strings.EqualFold(mt[:5], "text/") {
		return true
	}
	if n := len(mt); (n > 5 && strings.EqualFold(mt[n-5:], "+json")) || (n > 4 && strings.EqualFold(mt[n-4:], "+xml")) {
		return true
	}
	for _, t := range textTypes {
		if strings.EqualFold(mt, t) {
			return true
		}
	}
	return false
}

// textTypes are the media types besides text/*, +json and +xml that
// IsText calls text.
var textTypes = []string{
	"application/json", "application/xml", "application/javascript", "application/ecmascript",
	"application/x-www-form-urlencoded", "application/yaml", "application/x-yaml",
	"application/x-ndjson", "application/graphql",
}
