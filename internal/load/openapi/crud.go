package openapi

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// ID sources: where a create response carries the new item's id, as the
// load tester's api.id_from names them.
const (
	IDFromJSON     = "json"
	IDFromLocation = "location"
)

// CRUD is a document's collection resource as the load tester drives it:
// the paths, the operations found, where a create response has the id,
// and the bodies. Its fields map onto the load tester's API shape.
type CRUD struct {
	// BasePath prefixes every path (the server URL's path).
	BasePath string
	// Items is the collection path ("/items"); Item the item path
	// ("/items/{id}") and IDParam its parameter ("id").
	Items, Item, IDParam string

	Create, List, Read, Update, Patch, Delete *Operation

	// IDFrom is IDFromJSON (at IDPath in the body) or IDFromLocation.
	IDFrom, IDPath string
	// Body is the template of create bodies, UpdateBody of replacements,
	// PatchBody of patches, which are sent as PatchType.
	Body, UpdateBody     string
	PatchBody, PatchType string
	// ListQuery is the query of list requests: required parameters, and a
	// page size at its default.
	ListQuery string
	// Chosen says what was found and how, a line each.
	Chosen []string
	// Unmapped lists the operations left out and what could not be done.
	Unmapped []string
}

// Report renders Chosen and Unmapped as lines for people.
func (c *CRUD) Report() string {
	var b strings.Builder
	for _, s := range c.Chosen {
		b.WriteString(s)
		b.WriteByte('\n')
	}
	for _, s := range c.Unmapped {
		b.WriteString("not mapped: ")
		b.WriteString(s)
		b.WriteByte('\n')
	}
	return b.String()
}

// resource is a candidate collection: a path and the item path under it.
type resource struct {
	items, item, param string
	ops                [6]*Operation // create list read update patch delete
	score              int
	order              int
}

// CRUD finds the collection resource with the most CRUD operations (the
// shallower one, then the first in the document, on a tie) and maps it.
// It fails when the document has no path with an item path under it.
func (d *Document) CRUD() (*CRUD, error) {
	var cands []*resource
	byPath := map[string][]*Operation{}
	var paths []string
	for _, o := range d.Operations {
		if _, ok := byPath[o.Path]; !ok {
			paths = append(paths, o.Path)
		}
		byPath[o.Path] = append(byPath[o.Path], o)
	}
	for i, p := range paths {
		if strings.Contains(p, "{") {
			continue // nested under another item: needs its parent's id
		}
		for _, q := range paths {
			param, ok := itemParam(p, q)
			if !ok {
				continue
			}
			r := &resource{items: p, item: q, param: param, order: i}
			for _, o := range byPath[p] {
				switch o.Method {
				case "POST":
					r.ops[0] = o
				case "GET":
					r.ops[1] = o
				}
			}
			for _, o := range byPath[q] {
				switch o.Method {
				case "GET":
					r.ops[2] = o
				case "PUT":
					r.ops[3] = o
				case "PATCH":
					r.ops[4] = o
				case "DELETE":
					r.ops[5] = o
				}
			}
			for _, o := range r.ops {
				if o != nil {
					r.score++
				}
			}
			if r.ops[0] != nil {
				r.score += 2 // without a create, nothing has an id to read
			}
			cands = append(cands, r)
		}
	}
	if len(cands) == 0 {
		return nil, errors.New("openapi: no collection resource (a path such as /things with /things/{id} under it)")
	}
	slices.SortStableFunc(cands, func(a, b *resource) int {
		if a.score != b.score {
			return b.score - a.score
		}
		if da, db := strings.Count(a.items, "/"), strings.Count(b.items, "/"); da != db {
			return da - db
		}
		return a.order - b.order
	})
	r := cands[0]
	c := &CRUD{BasePath: d.BasePath, Items: r.items, Item: r.item, IDParam: r.param,
		Create: r.ops[0], List: r.ops[1], Read: r.ops[2], Update: r.ops[3], Patch: r.ops[4], Delete: r.ops[5]}
	c.Chosen = append(c.Chosen, fmt.Sprintf("resource %s%s, item %s%s, id parameter %q", d.BasePath, r.items, d.BasePath, r.item, r.param))
	for _, other := range cands[1:] {
		c.Unmapped = append(c.Unmapped, fmt.Sprintf("resource %s (item %s): another resource; the run drives %s", other.items, other.item, r.items))
	}
	names := []string{"create", "list", "read", "update", "patch", "delete"}
	for i, o := range r.ops {
		if o == nil {
			c.Unmapped = append(c.Unmapped, names[i]+": the document has no such operation")
			continue
		}
		c.Chosen = append(c.Chosen, fmt.Sprintf("%s: %s %s%s", names[i], o.Method, d.BasePath, o.Path)+opID(o))
	}
	c.mapID(r)
	c.mapBodies(r)
	c.mapList()
	for _, o := range d.Operations {
		if !slices.Contains(r.ops[:], o) {
			c.Unmapped = append(c.Unmapped, o.Method+" "+d.BasePath+o.Path+opID(o)+": not a CRUD operation of the resource")
		}
	}
	var creds []string
	optional := true
	for _, o := range r.ops {
		if o == nil || len(o.Security) == 0 {
			continue
		}
		optional = optional && o.SecurityOptional
		for _, s := range o.Security {
			if !slices.Contains(creds, s) {
				creds = append(creds, s)
			}
		}
	}
	if len(creds) > 0 {
		need := "needs credentials"
		if optional {
			need = "may take credentials"
		}
		c.Chosen = append(c.Chosen, need+": "+strings.Join(creds, ", ")+" (give them with --header)")
	}
	return c, nil
}

func opID(o *Operation) string {
	if o.ID == "" {
		return ""
	}
	return " (" + o.ID + ")"
}

// itemParam reports whether item is items + "/{param}".
func itemParam(items, item string) (string, bool) {
	rest, ok := strings.CutPrefix(item, strings.TrimSuffix(items, "/")+"/")
	if !ok || len(rest) < 3 || rest[0] != '{' || rest[len(rest)-1] != '}' || strings.ContainsAny(rest[1:len(rest)-1], "/{}") {
		return "", false
	}
	return rest[1 : len(rest)-1], true
}

// mapID finds where a create response has the new id: a property named
// like the path parameter (or "id") in its JSON, looked for through
// wrapper objects, else the Location header.
func (c *CRUD) mapID(r *resource) {
	create := c.Create
	if create == nil {
		c.Unmapped = append(c.Unmapped, "ids: without a create operation the run has no ids for read, update and delete")
		return
	}
	names := idNames(r.param)
	if path := c.findIDProperty(create, names); path != "" {
		c.IDFrom, c.IDPath = IDFromJSON, path
		c.Chosen = append(c.Chosen, fmt.Sprintf("id: property %s of the %d response", path, create.Success))
		return
	}
	for _, h := range create.SuccessHeaders {
		if strings.EqualFold(h, "Location") {
			c.IDFrom = IDFromLocation
			c.Chosen = append(c.Chosen, fmt.Sprintf("id: the last segment of the %d response's Location header", create.Success))
			return
		}
	}
	c.IDFrom, c.IDPath = IDFromJSON, r.param
	c.Unmapped = append(c.Unmapped, fmt.Sprintf("id: the create response declares neither a property %q nor Location; the run reads %q", r.param, r.param))
}

// idNames are the property names that may carry an id whose path
// parameter is param: the parameter itself ("slug", "petId"), then "id".
func idNames(param string) []string {
	if param == "id" {
		return []string{"id"}
	}
	return []string{param, "id"}
}

func (c *CRUD) findIDProperty(create *Operation, names []string) string {
	if create.op == nil || create.op.Responses == nil || create.op.Responses.Codes == nil {
		return ""
	}
	resp := create.op.Responses.Codes.GetOrZero(fmt.Sprint(create.Success))
	if resp == nil || resp.Content == nil {
		return ""
	}
	var schema *base.Schema
	for t, mt := range resp.Content.FromOldest() {
		if mt != nil && mt.Schema != nil && (strings.Contains(t, "json") || schema == nil) {
			schema = mt.Schema.Schema()
			if strings.Contains(t, "json") {
				break
			}
		}
	}
	// Breadth first: the shallowest match wins, so {"id"} beats
	// {"data": {"id"}}.
	type level struct {
		s    *base.Schema
		path string
	}
	queue := []level{{schema, ""}}
	for depth := 0; depth < 4 && len(queue) > 0; depth++ {
		var next []level
		for _, name := range names {
			for _, l := range queue {
				if ps := propertySchema(l.s, name); ps != nil {
					return l.path + name
				}
			}
		}
		for _, l := range queue {
			if l.s == nil || l.s.Properties == nil {
				continue
			}
			for k, p := range l.s.Properties.FromOldest() {
				if ps := p.Schema(); ps != nil && schemaType(ps) == "object" {
					next = append(next, level{ps, l.path + k + "."})
				}
			}
			for _, part := range l.s.AllOf {
				if ps := part.Schema(); ps != nil {
					next = append(next, level{ps, l.path})
				}
			}
		}
		queue = next
	}
	return ""
}

func (c *CRUD) mapBodies(r *resource) {
	skip := []string{r.param}
	if c.IDPath != "" && !strings.Contains(c.IDPath, ".") {
		skip = append(skip, c.IDPath)
	}
	body := func(name string, o *Operation) (*Body, bool) {
		if o == nil {
			return nil, false
		}
		if o.op.RequestBody == nil || o.op.RequestBody.Content == nil || o.op.RequestBody.Content.Len() == 0 {
			c.Unmapped = append(c.Unmapped, name+": the operation takes no body; an empty one is sent")
			return nil, false
		}
		b := newBody(o.Method, o.op.RequestBody, skip)
		o.Body = b
		src := "generated from the schema"
		if b.FromExample {
			src = "from the document's example"
		}
		line := fmt.Sprintf("%s body: %s, %s", name, b.ContentType, src)
		if b.Padded != "" {
			line += ", padded in " + b.Padded
		}
		c.Chosen = append(c.Chosen, line)
		for _, n := range b.Notes {
			c.Unmapped = append(c.Unmapped, name+" body: "+n)
		}
		if name == "create" {
			for _, p := range b.LeftOut {
				c.Unmapped = append(c.Unmapped, fmt.Sprintf("create body: leaves out %q, the resource's id, for the server to assign; "+
					"an API where the client chooses it needs a body template that sets it", p))
			}
		}
		return b, b.Template != ""
	}
	if b, ok := body("create", c.Create); ok {
		c.Body = b.Template
	}
	if b, ok := body("update", c.Update); ok {
		c.UpdateBody = b.Template
	}
	if b, ok := body("patch", c.Patch); ok {
		c.PatchBody, c.PatchType = b.Template, b.ContentType
		if b.ContentType == "application/json-patch+json" {
			c.Unmapped = append(c.Unmapped, "patch: JSON Patch documents are not generated")
		}
	}
	if c.UpdateBody == "" {
		c.UpdateBody = c.Body
	}
}

// pageSizeNames are the query parameters that size a page.
var pageSizeNames = []string{"limit", "per_page", "perPage", "page_size", "pageSize", "size", "count", "max", "top", "$top"}

func (c *CRUD) mapList() {
	if c.List == nil {
		return
	}
	var q []string
	for _, p := range c.List.Params {
		if p.In != "query" {
			if p.Required && p.In != "path" {
				c.Unmapped = append(c.Unmapped, fmt.Sprintf("list: the %s parameter %q is required and not sent", p.In, p.Name))
			}
			continue
		}
		if p.Required || p.HasDefault && slices.Contains(pageSizeNames, p.Name) {
			q = append(q, queryEscape(p.Name)+"="+queryEscape(p.Example))
		}
	}
	c.ListQuery = strings.Join(q, "&")
	if c.ListQuery != "" {
		c.Chosen = append(c.Chosen, "list query: "+c.ListQuery)
	}
}

func queryEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || '0' <= ch && ch <= '9' || strings.IndexByte("-_.~$", ch) >= 0 {
			b.WriteByte(ch)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", ch)
	}
	return b.String()
}
