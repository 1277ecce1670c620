package postman

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/surgehq/surge/internal/load/openapi"
)

// SchemaV21 is the schema URL of the Collection Format v2.1.0.
const SchemaV21 = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

// ExportOptions shape a collection written from an OpenAPI document.
type ExportOptions struct {
	// Name is the collection's name; the document's title when empty.
	Name string
	// Description is the collection's description.
	Description string
	// BaseURL is the default of the baseUrl variable that every request's
	// URL starts with.
	BaseURL string
	// Examples replace the one request generated for an operation (by
	// operationId) with these, in order.
	Examples map[string][]Example
	// Variables are more collection variables, such as ones that
	// examples' pre-request scripts set.
	Variables []Variable
}

// Example is a request written for an operation.
type Example struct {
	// Name is the request's name; the operation's summary when empty.
	Name string
	// Query and Header are added to what the operation needs.
	Query  []Variable
	Header []Variable
	// Body is the raw JSON body; the document's example or one generated
	// from the schema when empty.
	Body string
	// Status is the status the test expects; the operation's success
	// status when 0.
	Status int
	// Tests are more test script lines; Pre are pre-request script lines.
	Tests, Pre []string
}

// The collection as written: the parts of the v2.1 format an export uses.
type (
	outCollection struct {
		Info     outInfo    `json:"info"`
		Item     []outItem  `json:"item"`
		Variable []outKV    `json:"variable,omitempty"`
		Event    []outEvent `json:"event,omitempty"`
	}
	outInfo struct {
		PostmanID   string `json:"_postman_id"`
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Schema      string `json:"schema"`
	}
	outItem struct {
		Name        string      `json:"name"`
		Description string      `json:"description,omitempty"`
		Item        []outItem   `json:"item,omitempty"`
		Event       []outEvent  `json:"event,omitempty"`
		Request     *outRequest `json:"request,omitempty"`
		Response    *[]struct{} `json:"response,omitempty"`
	}
	outEvent struct {
		Listen string    `json:"listen"`
		Script outScript `json:"script"`
	}
	outScript struct {
		Type string   `json:"type"`
		Exec []string `json:"exec"`
	}
	outRequest struct {
		Method string   `json:"method"`
		Header []outKV  `json:"header"`
		Body   *outBody `json:"body,omitempty"`
		URL    outURL   `json:"url"`
	}
	outKV struct {
		Key   string `json:"key"`
		Value string `json:"value"`
		Type  string `json:"type,omitempty"`
	}
	outBody struct {
		Mode    string `json:"mode"`
		Raw     string `json:"raw"`
		Options struct {
			Raw struct {
				Language string `json:"language"`
			} `json:"raw"`
		} `json:"options"`
	}
	outURL struct {
		Raw   string   `json:"raw"`
		Host  []string `json:"host"`
		Path  []string `json:"path"`
		Query []outKV  `json:"query,omitempty"`
	}
)

// Export writes a v2.1 collection of an OpenAPI document's operations.
// The collection resource's operations come first, in the order that
// chains them (create, list, read, a conditional read when the document
// has one, update, patch, the resource's other operations, delete), then
// the others in the document's order; requests are foldered by their
// first tag. Each request checks the expected status; the create captures
// the new id into the id parameter's variable, and every response that
// declares an ETag captures it into "etag", which the writes send as
// If-Match where the document takes it.
func Export(doc *openapi.Document, opts ExportOptions) ([]byte, error) {
	name := firstOf(opts.Name, doc.Title, "API")
	crud, _ := doc.CRUD() // no resource: the operations in the document's order
	ordered := orderOperations(doc, crud)
	e := &exporter{doc: doc, crud: crud, opts: opts, vars: []outKV{{Key: "baseUrl", Value: opts.BaseURL}}}
	if crud != nil {
		e.addVar(crud.IDParam, "")
	}
	for _, v := range opts.Variables {
		e.addVar(v.Key, v.Value)
	}

	var folders []outItem
	index := map[string]int{}
	var root []outItem
	for _, o := range ordered {
		items := e.requests(o)
		if len(o.Tags) == 0 {
			root = append(root, items...)
			continue
		}
		tag := o.Tags[0]
		i, ok := index[tag]
		if !ok {
			i = len(folders)
			index[tag] = i
			folders = append(folders, outItem{Name: tag})
		}
		folders[i].Item = append(folders[i].Item, items...)
	}
	c := outCollection{
		Info: outInfo{PostmanID: stableUUID("collection:" + name), Name: name,
			Description: opts.Description, Schema: SchemaV21},
		Item:     append(folders, root...),
		Variable: e.vars,
	}
	return marshal(c)
}

// ExportEnvironment writes a Postman environment file.
func ExportEnvironment(name string, values []Variable) ([]byte, error) {
	type value struct {
		Key     string `json:"key"`
		Value   string `json:"value"`
		Type    string `json:"type"`
		Enabled bool   `json:"enabled"`
	}
	env := struct {
		ID     string  `json:"id"`
		Name   string  `json:"name"`
		Values []value `json:"values"`
		Scope  string  `json:"_postman_variable_scope"`
	}{ID: stableUUID("environment:" + name), Name: name, Scope: "environment"}
	for _, v := range values {
		env.Values = append(env.Values, value{Key: v.Key, Value: v.Value, Type: "default", Enabled: true})
	}
	return marshal(env)
}

func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "\t")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("write collection: %w", err)
	}
	return b.Bytes(), nil
}

// stableUUID derives a version 4 style UUID from s, so that a written
// collection is the same every time.
func stableUUID(s string) string {
	sum := sha256.Sum256([]byte(s))
	sum[6] = sum[6]&0x0f | 0x40
	sum[8] = sum[8]&0x3f | 0x80
	h := hex.EncodeToString(sum[:16])
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func firstOf(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// orderOperations puts the resource's operations in the order that chains
// them, then the rest in the document's order.
func orderOperations(doc *openapi.Document, crud *openapi.CRUD) []*openapi.Operation {
	if crud == nil {
		return doc.Operations
	}
	var out []*openapi.Operation
	add := func(o *openapi.Operation) {
		if o != nil && !slices.Contains(out, o) {
			out = append(out, o)
		}
	}
	add(crud.Create)
	add(crud.List)
	add(crud.Read)
	add(crud.Update)
	add(crud.Patch)
	// The resource's other operations (a batch endpoint under it) while
	// the item still exists.
	for _, o := range doc.Operations {
		if strings.HasPrefix(o.Path, crud.Items+"/") && !strings.HasPrefix(o.Path, crud.Item) {
			add(o)
		}
	}
	add(crud.Delete)
	for _, o := range doc.Operations {
		add(o)
	}
	return out
}

type exporter struct {
	doc  *openapi.Document
	crud *openapi.CRUD
	opts ExportOptions
	vars []outKV
}

func (e *exporter) addVar(key, value string) {
	for _, v := range e.vars {
		if v.Key == key {
			return
		}
	}
	e.vars = append(e.vars, outKV{Key: key, Value: value})
}

// requests writes the requests of an operation: its examples, or one
// generated, and the conditional read where the document has one.
func (e *exporter) requests(o *openapi.Operation) []outItem {
	examples := e.opts.Examples[o.ID]
	if len(examples) == 0 {
		examples = []Example{{}}
	}
	var out []outItem
	for _, ex := range examples {
		out = append(out, e.request(o, ex, false))
	}
	if e.crud != nil && o == e.crud.Read && e.conditional(o) {
		out = append(out, e.request(o, Example{Name: firstOf(o.Summary, "Read") + ", not modified", Status: 304}, true))
	}
	return out
}

// conditional reports whether a read takes If-None-Match and answers 304,
// and an ETag is captured before it.
func (e *exporter) conditional(o *openapi.Operation) bool {
	return hasParam(o, "header", "If-None-Match") && slices.Contains(o.Statuses, 304) &&
		e.crud.Create != nil && hasHeader(e.crud.Create.SuccessHeaders, "ETag")
}

func hasParam(o *openapi.Operation, in, name string) bool {
	for _, p := range o.Params {
		if p.In == in && strings.EqualFold(p.Name, name) {
			return true
		}
	}
	return false
}

func hasHeader(hs []string, name string) bool {
	return slices.ContainsFunc(hs, func(h string) bool { return strings.EqualFold(h, name) })
}

func (e *exporter) request(o *openapi.Operation, ex Example, ifNoneMatch bool) outItem {
	status := ex.Status
	if status == 0 {
		status = o.Success
	}
	if status == 0 {
		status = 200
	}
	req := &outRequest{Method: o.Method, Header: []outKV{}}

	// The URL: {{baseUrl}}, the base path, and path parameters as
	// variables.
	path := e.doc.BasePath + o.Path
	var segs []string
	for _, seg := range strings.Split(strings.Trim(path, "/"), "/") {
		if len(seg) > 2 && seg[0] == '{' && seg[len(seg)-1] == '}' {
			p := seg[1 : len(seg)-1]
			seg = "{{" + p + "}}"
			for _, prm := range o.Params {
				if prm.In == "path" && prm.Name == p && (e.crud == nil || p != e.crud.IDParam) {
					e.addVar(p, prm.Example)
				}
			}
		}
		if seg != "" {
			segs = append(segs, seg)
		}
	}
	req.URL = outURL{Host: []string{"{{baseUrl}}"}, Path: segs}
	if req.URL.Path == nil {
		req.URL.Path = []string{}
	}
	for _, p := range o.Params {
		if p.In == "query" && (p.Required || p.HasDefault && slices.Contains([]string{"limit", "per_page", "pageSize", "page_size", "size"}, p.Name)) {
			req.URL.Query = append(req.URL.Query, outKV{Key: p.Name, Value: p.Example})
		}
	}
	for _, q := range ex.Query {
		req.URL.Query = append(req.URL.Query, outKV{Key: q.Key, Value: q.Value})
	}
	req.URL.Raw = "{{baseUrl}}/" + strings.Join(segs, "/")
	if len(req.URL.Query) > 0 {
		var qs []string
		for _, q := range req.URL.Query {
			qs = append(qs, q.Key+"="+q.Value)
		}
		req.URL.Raw += "?" + strings.Join(qs, "&")
	}

	// The body and the headers.
	body := ex.Body
	if o.Body != nil {
		if body == "" {
			body = string(o.Body.Example)
		}
		req.Header = append(req.Header, outKV{Key: "Content-Type", Value: o.Body.ContentType})
		req.Body = &outBody{Mode: "raw", Raw: body}
		req.Body.Options.Raw.Language = "json"
	}
	etag := e.crud != nil && e.crud.Create != nil && hasHeader(e.crud.Create.SuccessHeaders, "ETag")
	onItem := e.crud != nil && o.Path == e.crud.Item
	if etag && onItem && o.Method != "GET" && hasParam(o, "header", "If-Match") {
		req.Header = append(req.Header, outKV{Key: "If-Match", Value: "{{etag}}"})
	}
	if ifNoneMatch {
		req.Header = append(req.Header, outKV{Key: "If-None-Match", Value: "{{etag}}"})
	}
	for _, h := range ex.Header {
		req.Header = append(req.Header, outKV{Key: h.Key, Value: h.Value})
	}

	// The tests: the status, the captures, then the example's own.
	tests := []string{
		"pm.test(" + strconv.Quote("status is "+strconv.Itoa(status)) + ", function () {",
		"    pm.response.to.have.status(" + strconv.Itoa(status) + ");",
		"});",
	}
	if e.crud != nil && o == e.crud.Create && status == o.Success {
		switch e.crud.IDFrom {
		case openapi.IDFromLocation:
			tests = append(tests, "pm.collectionVariables.set("+strconv.Quote(e.crud.IDParam)+
				", pm.response.headers.get(\"Location\").split(\"/\").pop());")
		default:
			tests = append(tests, "pm.collectionVariables.set("+strconv.Quote(e.crud.IDParam)+
				", pm.response.json()"+jsPath(e.crud.IDPath)+");")
		}
	}
	if etag && (onItem || o == e.crud.Create) && status == o.Success && hasHeader(o.SuccessHeaders, "ETag") {
		tests = append(tests, `pm.collectionVariables.set("etag", pm.response.headers.get("ETag"));`)
	}
	if etag {
		e.addVar("etag", "")
	}
	tests = append(tests, ex.Tests...)
	it := outItem{Name: firstOf(ex.Name, o.Summary, o.Method+" "+o.Path), Request: req, Response: &[]struct{}{}}
	if len(ex.Pre) > 0 {
		it.Event = append(it.Event, outEvent{Listen: "prerequest", Script: outScript{Type: "text/javascript", Exec: ex.Pre}})
	}
	it.Event = append(it.Event, outEvent{Listen: "test", Script: outScript{Type: "text/javascript", Exec: tests}})
	return it
}

// jsPath writes a dotted path as JavaScript member access.
func jsPath(p string) string {
	var b strings.Builder
	for _, k := range strings.Split(p, ".") {
		if isJSIdent(k) {
			b.WriteString("." + k)
		} else {
			b.WriteString("[" + strconv.Quote(k) + "]")
		}
	}
	return b.String()
}

func isJSIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || c == '$' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
