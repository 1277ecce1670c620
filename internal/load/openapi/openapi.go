// Package openapi reads an OpenAPI 3.0 or 3.1 document (JSON or YAML) and
// finds in it the CRUD operations that surge's load tester runs: the
// collection resource (POST /things, GET /things, GET, PUT, PATCH and
// DELETE /things/{id}), its id parameter, where a create response carries
// the new id (a property named like it, or Location), and request bodies
// generated from the document's examples or schemas, respecting required
// properties, types, formats, enums and lengths. It reports what it chose
// and what it could not map.
//
// References to other files or URLs are not followed: a document must be
// whole.
package openapi

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/libopenapi"
	"github.com/pb33f/libopenapi/datamodel"
	"github.com/pb33f/libopenapi/datamodel/high/base"
	v3 "github.com/pb33f/libopenapi/datamodel/high/v3"
)

// MaxDocumentSize bounds the documents Read accepts.
const MaxDocumentSize = 16 << 20

// Document is an OpenAPI document's operations, in the document's order.
type Document struct {
	Title string
	// Version is the OpenAPI version, such as "3.1.0".
	Version string
	// BasePath is the path of the first server's URL ("" for "/"), which
	// prefixes every path.
	BasePath   string
	Operations []*Operation
	// Security lists the document's security schemes as a client needs
	// them ("apiKey header x-api-key"); Optional says whether a request may
	// go without credentials.
	Security         []string
	SecurityOptional bool
}

// Operation is one method of one path.
type Operation struct {
	Method  string // upper case
	Path    string // as the document writes it, "/items/{id}"
	ID      string // operationId
	Summary string
	Tags    []string
	Params  []Param
	// Body is the request body, nil when the operation takes none.
	Body *Body
	// Statuses are the documented response statuses in the document's
	// order ("default" is left out); Success is the lowest 2xx one, or 0.
	Statuses []int
	Success  int
	// SuccessHeaders are the headers the success response declares.
	SuccessHeaders []string
	// Security are the credentials the operation takes (its own
	// requirements, else the document's); SecurityOptional says it may go
	// without.
	Security         []string
	SecurityOptional bool

	op *v3.Operation
}

// Param is a parameter of an operation.
type Param struct {
	Name, In string
	Required bool
	// Example is a value for it: its example, default or first enum
	// member, else one generated from its schema.
	Example string
	// HasDefault says the schema gives a default (Example is it).
	HasDefault bool
}

// Body is an operation's request body.
type Body struct {
	// ContentType is the media type chosen: JSON first (for PATCH, JSON
	// Merge Patch first); Types are all of them.
	ContentType string
	Types       []string
	Required    bool
	// Example is a concrete JSON body: the media type's example, else the
	// schema's, else one generated from the schema.
	Example []byte
	// Template is the same body as the load tester's template: a free
	// string member carries {{data}}, which pads it to the size class, and
	// a free-form object also gets {{name}} and {{n}}.
	Template string
	// Padded names the member that carries {{data}} ("" when none could).
	Padded string
	// FromExample says the body came from the document's example.
	FromExample bool
	// Notes say what the generated body could not respect.
	Notes []string
	// LeftOut are the optional properties left out: the resource's id,
	// which the server is to assign.
	LeftOut []string
}

// Read parses a document. It does not follow references to other files
// or URLs.
func Read(data []byte) (doc *Document, err error) {
	if len(data) > MaxDocumentSize {
		return nil, fmt.Errorf("read openapi: larger than %d MiB", MaxDocumentSize>>20)
	}
	// The parsing library is large and fed outside input: a panic in it is
	// this document's error, not the process's end.
	defer func() {
		if r := recover(); r != nil {
			doc, err = nil, fmt.Errorf("read openapi: the document breaks the parser: %v", r)
		}
	}()
	cfg := datamodel.NewDocumentConfiguration()
	cfg.Logger = slog.New(slog.DiscardHandler)
	d, err := libopenapi.NewDocumentWithConfiguration(data, cfg)
	if err != nil {
		return nil, fmt.Errorf("read openapi: %w", err)
	}
	if v := d.GetVersion(); !strings.HasPrefix(v, "3.") {
		return nil, fmt.Errorf("read openapi: version %q is not 3.0 or 3.1 (convert a Swagger 2.0 document first)", v)
	}
	m, err := d.BuildV3Model()
	if m == nil {
		if err == nil {
			err = errors.New("no model")
		}
		return nil, fmt.Errorf("read openapi: %w", err)
	}
	model := &m.Model
	doc = &Document{Version: d.GetVersion()}
	if model.Info != nil {
		doc.Title = model.Info.Title
	}
	if len(model.Servers) > 0 {
		doc.BasePath = serverPath(model.Servers[0])
	}
	doc.Security, doc.SecurityOptional = security(model, model.Security)
	if model.Paths == nil || model.Paths.PathItems == nil {
		return doc, nil
	}
	for path, item := range model.Paths.PathItems.FromOldest() {
		if item == nil {
			continue
		}
		for _, mo := range []struct {
			method string
			op     *v3.Operation
		}{{"GET", item.Get}, {"PUT", item.Put}, {"POST", item.Post}, {"DELETE", item.Delete},
			{"OPTIONS", item.Options}, {"HEAD", item.Head}, {"PATCH", item.Patch}, {"TRACE", item.Trace}} {
			if mo.op == nil {
				continue
			}
			o := newOperation(mo.method, path, item, mo.op)
			o.Security, o.SecurityOptional = doc.Security, doc.SecurityOptional
			if mo.op.Security != nil {
				o.Security, o.SecurityOptional = security(model, mo.op.Security)
			}
			doc.Operations = append(doc.Operations, o)
		}
	}
	return doc, nil
}

// serverPath returns the path of a server URL, with its variables at
// their defaults.
func serverPath(s *v3.Server) string {
	raw := s.URL
	if s.Variables != nil {
		for name, v := range s.Variables.FromOldest() {
			if v != nil {
				raw = strings.ReplaceAll(raw, "{"+name+"}", v.Default)
			}
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.TrimSuffix(u.Path, "/")
}

func security(model *v3.Document, reqs []*base.SecurityRequirement) ([]string, bool) {
	optional := len(reqs) == 0
	var out []string
	for _, r := range reqs {
		if r == nil || r.Requirements == nil || r.Requirements.Len() == 0 {
			optional = true
			continue
		}
		for name := range r.Requirements.KeysFromOldest() {
			desc := name
			if model.Components != nil && model.Components.SecuritySchemes != nil {
				if s := model.Components.SecuritySchemes.GetOrZero(name); s != nil {
					switch s.Type {
					case "apiKey":
						desc = "apiKey " + s.In + " " + s.Name
					case "http":
						desc = "http " + s.Scheme
					default:
						desc = s.Type
					}
				}
			}
			if !slices.Contains(out, desc) {
				out = append(out, desc)
			}
		}
	}
	return out, optional
}

func newOperation(method, path string, item *v3.PathItem, op *v3.Operation) *Operation {
	o := &Operation{Method: method, Path: path, ID: op.OperationId, Summary: op.Summary, Tags: op.Tags, op: op}
	seen := map[string]bool{}
	for _, p := range append(slices.Clip(op.Parameters), item.Parameters...) {
		if p == nil || seen[p.In+":"+p.Name] {
			continue
		}
		seen[p.In+":"+p.Name] = true
		o.Params = append(o.Params, newParam(p))
	}
	if op.Responses != nil && op.Responses.Codes != nil {
		for code, r := range op.Responses.Codes.FromOldest() {
			n, err := strconv.Atoi(code)
			if err != nil {
				continue
			}
			o.Statuses = append(o.Statuses, n)
			if n >= 200 && n < 300 && (o.Success == 0 || n < o.Success) {
				o.Success = n
				o.SuccessHeaders = nil
				if r != nil && r.Headers != nil {
					for h := range r.Headers.KeysFromOldest() {
						o.SuccessHeaders = append(o.SuccessHeaders, h)
					}
				}
			}
		}
	}
	if rb := op.RequestBody; rb != nil && rb.Content != nil && rb.Content.Len() > 0 {
		o.Body = newBody(method, rb, nil)
	}
	return o
}

func newParam(p *v3.Parameter) Param {
	q := Param{Name: p.Name, In: p.In, Required: p.Required != nil && *p.Required || p.In == "path"}
	g := &generator{}
	var v *jv
	switch {
	case p.Example != nil:
		v = fromNode(p.Example)
	case p.Examples != nil && p.Examples.Len() > 0:
		v = fromNode(p.Examples.First().Value().Value)
	case p.Schema != nil:
		if s := p.Schema.Schema(); s != nil && s.Default != nil {
			q.HasDefault = true
		}
		v = g.value(p.Schema, p.Name)
	}
	if v != nil {
		if v.kind == jString {
			q.Example = v.text
		} else {
			q.Example = string(v.bytes(false))
		}
	}
	return q
}

// preferredTypes orders the media types a body may be sent as.
func preferredTypes(method string) []string {
	if method == "PATCH" {
		return []string{"application/merge-patch+json", "application/json"}
	}
	return []string{"application/json"}
}

// newBody builds a request body; skip names top-level properties to
// leave out (the resource's id).
func newBody(method string, rb *v3.RequestBody, skip []string) *Body {
	b := &Body{Required: rb.Required != nil && *rb.Required}
	var chosen *v3.MediaType
	for t, mt := range rb.Content.FromOldest() {
		b.Types = append(b.Types, t)
		_ = mt
	}
	for _, want := range preferredTypes(method) {
		if mt := rb.Content.GetOrZero(want); mt != nil {
			b.ContentType, chosen = want, mt
			break
		}
	}
	if chosen == nil {
		for t, mt := range rb.Content.FromOldest() {
			if strings.HasSuffix(t, "+json") || strings.HasSuffix(t, "/json") {
				b.ContentType, chosen = t, mt
				break
			}
		}
	}
	if chosen == nil {
		b.ContentType = b.Types[0]
		b.Notes = append(b.Notes, "media type "+strconv.Quote(b.ContentType)+" is not JSON: no body is generated")
		return b
	}
	g := &generator{skip: skip}
	var v *jv
	switch {
	case chosen.Example != nil:
		v, b.FromExample = fromNode(chosen.Example), true
	case chosen.Examples != nil && chosen.Examples.Len() > 0:
		if ex := chosen.Examples.First().Value(); ex != nil && ex.Value != nil {
			v, b.FromExample = fromNode(ex.Value), true
		}
	}
	var schema *base.Schema
	if chosen.Schema != nil {
		schema = chosen.Schema.Schema()
	}
	if v == nil && chosen.Schema != nil {
		v = g.value(chosen.Schema, "")
		b.FromExample = schema != nil && (schema.Example != nil || len(schema.Examples) > 0)
	}
	if v == nil {
		v = &jv{kind: jObject}
	}
	b.Example = v.bytes(false)
	b.Padded = g.pad(v, schema)
	g.vary(v, schema)
	if b.Padded == "" && !v.hasPlaceholder(jData) {
		g.note("no free string member carries the padding: bodies keep one size")
	}
	b.Template = string(v.bytes(true))
	b.Notes = append(b.Notes, g.notes...)
	b.LeftOut = g.skipped
	return b
}

// Find returns the operation of a method and path, nil when none.
func (d *Document) Find(method, path string) *Operation {
	for _, o := range d.Operations {
		if o.Method == method && o.Path == path {
			return o
		}
	}
	return nil
}
