package postman

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// Renderer renders requests from a Scope's variables into buffers it
// reuses: a virtual user owns one, and each Render overwrites the
// previous result. It is not safe for concurrent use.
type Renderer struct {
	vars
	out Rendered
	tmp []byte
	// empty stands for the response when a pre-request script's condition
	// reads a variable.
	empty Response
}

// NewRenderer returns a renderer over s, with rnd and now for the
// dynamic variables ({{$randomInt}}, {{$timestamp}}). A nil rnd is seeded
// at random, a nil now is time.Now, a nil s is an empty scope.
func NewRenderer(s *Scope, rnd *rand.Rand, now func() time.Time) *Renderer {
	if now == nil {
		now = time.Now
	}
	if rnd == nil {
		rnd = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if s == nil {
		s = NewScope(nil, nil, nil)
	}
	return &Renderer{vars: vars{scope: s, rnd: rnd, now: now}}
}

// Scope returns the scope the renderer reads and its pre-request scripts
// write.
func (r *Renderer) Scope() *Scope { return r.scope }

// Rendered is a request ready to send. Its slices belong to the Renderer
// and are valid until its next Render.
type Rendered struct {
	Method string
	URL    []byte
	Header []Header
	Body   []byte
	// Unresolved counts the {{variables}} that had no value (they are sent
	// as written, as Postman does); Missing names the first.
	Unresolved int
	Missing    string

	hbuf  []byte
	spans []int // offsets into hbuf: key start, key end, value end, ...
}

// Header is a rendered request header.
type Header struct {
	Key, Value []byte
}

// Render applies the request's pre-request settings to the scope and
// renders the request.
func (r *Renderer) Render(req *Request) *Rendered {
	for _, c := range req.Pre {
		r.applySet(c)
	}
	out := &r.out
	r.unresolved, r.missing = 0, ""
	out.Method = req.Method

	// The URL: rendered, then given a scheme if it has none, and escaped
	// where its characters may not stand in a URL.
	r.tmp = r.appendTemplate(r.tmp[:0], &req.url)
	out.URL = appendURL(out.URL[:0], r.tmp)
	if a := req.auth; a != nil && a.kind == "apikey" && a.inQuery {
		out.URL = appendQuerySep(out.URL)
		r.tmp = r.appendTemplate(r.tmp[:0], &a.key)
		out.URL = appendQueryEscape(out.URL, r.tmp)
		out.URL = append(out.URL, '=')
		r.tmp = r.appendTemplate(r.tmp[:0], &a.value)
		out.URL = appendQueryEscape(out.URL, r.tmp)
	}

	out.hbuf, out.spans = out.hbuf[:0], out.spans[:0]
	for i := range req.headers {
		h := &req.headers[i]
		out.spans = append(out.spans, len(out.hbuf))
		out.hbuf = r.appendTemplate(out.hbuf, &h.key)
		out.spans = append(out.spans, len(out.hbuf))
		out.hbuf = r.appendTemplate(out.hbuf, &h.value)
		out.spans = append(out.spans, len(out.hbuf))
	}
	if a := req.auth; a != nil {
		r.appendAuth(out, a)
	}
	out.Header = out.Header[:0]
	for i := 0; i+2 < len(out.spans); i += 3 {
		k := out.hbuf[out.spans[i]:out.spans[i+1]:out.spans[i+1]]
		v := out.hbuf[out.spans[i+1]:out.spans[i+2]:out.spans[i+2]]
		out.Header = append(out.Header, Header{Key: k, Value: v})
	}

	out.Body = r.appendBody(out.Body[:0], req)
	out.Unresolved, out.Missing = r.unresolved, r.missing
	return out
}

func (r *Renderer) appendAuth(out *Rendered, a *auth) {
	add := func(key string, value func(dst []byte) []byte) {
		out.spans = append(out.spans, len(out.hbuf))
		out.hbuf = append(out.hbuf, key...)
		out.spans = append(out.spans, len(out.hbuf))
		out.hbuf = value(out.hbuf)
		out.spans = append(out.spans, len(out.hbuf))
	}
	switch a.kind {
	case "bearer":
		add("Authorization", func(dst []byte) []byte {
			return r.appendTemplate(append(dst, "Bearer "...), &a.token)
		})
	case "basic":
		add("Authorization", func(dst []byte) []byte {
			r.tmp = r.appendTemplate(r.tmp[:0], &a.user)
			r.tmp = append(r.tmp, ':')
			r.tmp = r.appendTemplate(r.tmp, &a.secret)
			return base64.StdEncoding.AppendEncode(append(dst, "Basic "...), r.tmp)
		})
	case "apikey":
		if a.inQuery {
			return
		}
		out.spans = append(out.spans, len(out.hbuf))
		out.hbuf = r.appendTemplate(out.hbuf, &a.key)
		out.spans = append(out.spans, len(out.hbuf))
		out.hbuf = r.appendTemplate(out.hbuf, &a.value)
		out.spans = append(out.spans, len(out.hbuf))
	}
}

func (r *Renderer) appendBody(dst []byte, req *Request) []byte {
	b := &req.body
	switch b.mode {
	case bodyRaw:
		return r.appendTemplate(dst, &b.raw)
	case bodyURLEncoded:
		for i := range b.fields {
			if i > 0 {
				dst = append(dst, '&')
			}
			r.tmp = r.appendTemplate(r.tmp[:0], &b.fields[i].key)
			dst = appendQueryEscape(dst, r.tmp)
			dst = append(dst, '=')
			r.tmp = r.appendTemplate(r.tmp[:0], &b.fields[i].value)
			dst = appendQueryEscape(dst, r.tmp)
		}
		return dst
	case bodyFormData:
		for i := range b.fields {
			f := &b.fields[i]
			dst = append(dst, "--"...)
			dst = append(dst, req.boundary...)
			dst = append(dst, "\r\nContent-Disposition: form-data; name=\""...)
			r.tmp = r.appendTemplate(r.tmp[:0], &f.key)
			dst = appendQuoteEscaped(dst, r.tmp)
			dst = append(dst, "\"\r\n"...)
			if f.contentType != "" {
				dst = append(dst, "Content-Type: "...)
				dst = append(dst, f.contentType...)
				dst = append(dst, "\r\n"...)
			}
			dst = append(dst, "\r\n"...)
			dst = r.appendTemplate(dst, &f.value)
			dst = append(dst, "\r\n"...)
		}
		dst = append(dst, "--"...)
		dst = append(dst, req.boundary...)
		return append(dst, "--\r\n"...)
	case bodyGraphQL:
		dst = append(dst, `{"query":`...)
		r.tmp = r.appendTemplate(r.tmp[:0], &b.gqlQuery)
		dst = appendJSONString(dst, r.tmp)
		r.tmp = r.appendTemplate(r.tmp[:0], &b.gqlVars)
		if v := bytes.TrimSpace(r.tmp); len(v) > 0 && isJSON(v) {
			dst = append(dst, `,"variables":`...)
			dst = append(dst, v...)
		}
		return append(dst, '}')
	}
	return dst
}

// applySet applies a pre-request script's setting.
func (r *Renderer) applySet(c *Capture) {
	if len(c.when) > 0 && !c.Applies(&r.empty, r.scope) {
		return
	}
	if c.Unset {
		r.scope.Unset(c.Scope, c.Var)
		return
	}
	if c.render {
		r.tmp = r.appendTemplate(r.tmp[:0], &c.value)
		if old, ok := r.scope.GetIn(c.Scope, c.Var); !ok || old != string(r.tmp) {
			r.scope.Set(c.Scope, c.Var, string(r.tmp))
		}
		return
	}
	if old, ok := r.scope.GetIn(c.Scope, c.Var); !ok || old != c.value.source {
		r.scope.Set(c.Scope, c.Var, c.value.source)
	}
}

// HTTPRequest builds a net/http request from the rendered one (copying
// what it keeps).
func (rd *Rendered) HTTPRequest(ctx context.Context) (*http.Request, error) {
	var body io.Reader
	if len(rd.Body) > 0 {
		body = bytes.NewReader(bytes.Clone(rd.Body))
	}
	req, err := http.NewRequestWithContext(ctx, rd.Method, string(rd.URL), body)
	if err != nil {
		return nil, fmt.Errorf("request %s %s: %w", rd.Method, rd.URL, err)
	}
	for _, h := range rd.Header {
		k := string(h.Key)
		if http.CanonicalHeaderKey(k) == "Host" {
			req.Host = string(h.Value)
			continue
		}
		req.Header.Add(k, string(h.Value))
	}
	return req, nil
}

// appendURL appends a rendered URL: http:// when it has no scheme, and its
// path and query with the characters a URL may not hold percent-encoded
// (existing escapes are kept), as Postman's URL encoder does.
func appendURL(dst, u []byte) []byte {
	u = bytes.TrimSpace(u)
	if i := bytes.Index(u, []byte("://")); i < 0 || i > 16 {
		dst = append(dst, "http://"...)
	}
	// The authority ends at the first '/', '?' after the scheme.
	authEnd := len(u)
	from := 0
	if i := bytes.Index(u, []byte("://")); i >= 0 && i <= 16 {
		from = i + 3
	}
	if j := bytes.IndexAny(u[from:], "/?"); j >= 0 {
		authEnd = from + j
	}
	dst = append(dst, u[:authEnd]...)
	for _, c := range u[authEnd:] {
		if c <= ' ' || c >= 0x7f || c == '"' || c == '<' || c == '>' || c == '`' || c == '{' || c == '}' ||
			c == '|' || c == '\\' || c == '^' {
			dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

// appendQuerySep appends '?' or '&' to start another query parameter.
func appendQuerySep(u []byte) []byte {
	switch {
	case bytes.IndexByte(u, '?') < 0:
		return append(u, '?')
	case u[len(u)-1] == '?' || u[len(u)-1] == '&':
		return u
	}
	return append(u, '&')
}

// appendQueryEscape appends s escaped as a form value
// (application/x-www-form-urlencoded: a space is '+').
func appendQueryEscape(dst, s []byte) []byte {
	for _, c := range s {
		switch {
		case 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '_' || c == '.' || c == '~':
			dst = append(dst, c)
		case c == ' ':
			dst = append(dst, '+')
		default:
			dst = append(dst, '%', "0123456789ABCDEF"[c>>4], "0123456789ABCDEF"[c&0xf])
		}
	}
	return dst
}

// appendQuoteEscaped escapes a multipart field name as mime/multipart
// does: backslash and double quote get a backslash.
func appendQuoteEscaped(dst, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\\', '"':
			dst = append(dst, '\\', c)
		case '\r', '\n':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendJSONString appends s as a JSON string literal.
func appendJSONString(dst, s []byte) []byte {
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', c)
		case c == '\n':
			dst = append(dst, '\\', 'n')
		case c == '\r':
			dst = append(dst, '\\', 'r')
		case c == '\t':
			dst = append(dst, '\\', 't')
		case c < 0x20:
			dst = append(dst, `\u00`...)
			dst = append(dst, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
		default:
			dst = append(dst, c)
		}
	}
	return append(dst, '"')
}
