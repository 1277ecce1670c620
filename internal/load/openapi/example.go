package openapi

import (
	"bytes"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/pb33f/go-yaml"
	"github.com/pb33f/libopenapi/datamodel/high/base"
)

// A body is generated as a small JSON tree first, so that it can be
// written two ways: as a concrete example, and as the load tester's body
// template, whose placeholders {{name}}, {{n}} and {{data}} vary the
// bodies and pad them to each payload size class.

type jkind uint8

const (
	jNull jkind = iota
	jString
	jNumber // text holds the number as written
	jBool
	jObject
	jArray
	jName // the {{name}} placeholder, a JSON string
	jN    // the {{n}} placeholder, an integer
	jData // the {{data}} placeholder, a JSON string that pads the body
)

type jv struct {
	kind  jkind
	text  string
	b     bool
	keys  []string
	vals  []*jv
	items []*jv
}

func (v *jv) set(key string, val *jv) {
	if i := slices.Index(v.keys, key); i >= 0 {
		v.vals[i] = val
		return
	}
	v.keys = append(v.keys, key)
	v.vals = append(v.vals, val)
}

func (v *jv) get(key string) *jv {
	if i := slices.Index(v.keys, key); i >= 0 {
		return v.vals[i]
	}
	return nil
}

// write renders the tree: as a template (placeholders kept) or as a
// concrete example (placeholders filled).
func (v *jv) write(b *bytes.Buffer, template bool) {
	switch v.kind {
	case jNull:
		b.WriteString("null")
	case jString:
		s, _ := json.Marshal(v.text)
		b.Write(s)
	case jNumber:
		b.WriteString(v.text)
	case jBool:
		b.WriteString(strconv.FormatBool(v.b))
	case jObject:
		b.WriteByte('{')
		for i, k := range v.keys {
			if i > 0 {
				b.WriteByte(',')
			}
			s, _ := json.Marshal(k)
			b.Write(s)
			b.WriteByte(':')
			v.vals[i].write(b, template)
		}
		b.WriteByte('}')
	case jArray:
		b.WriteByte('[')
		for i, it := range v.items {
			if i > 0 {
				b.WriteByte(',')
			}
			it.write(b, template)
		}
		b.WriteByte(']')
	case jName:
		if template {
			b.WriteString(`"{{name}}"`)
		} else {
			b.WriteString(`"example"`)
		}
	case jN:
		if template {
			b.WriteString("{{n}}")
		} else {
			b.WriteString("1")
		}
	case jData:
		if template {
			b.WriteString("{{data}}")
		} else {
			b.WriteString(`"example data"`)
		}
	}
}

func (v *jv) bytes(template bool) []byte {
	var b bytes.Buffer
	v.write(&b, template)
	return b.Bytes()
}

// hasPlaceholder reports whether the tree holds kind k.
func (v *jv) hasPlaceholder(k jkind) bool {
	if v.kind == k {
		return true
	}
	for _, c := range v.vals {
		if c.hasPlaceholder(k) {
			return true
		}
	}
	for _, c := range v.items {
		if c.hasPlaceholder(k) {
			return true
		}
	}
	return false
}

// fromNode converts a YAML (or JSON) value of the document, such as an
// example, keeping the order of its members.
func fromNode(n *yaml.Node) *jv {
	if n == nil {
		return nil
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 1 {
			return fromNode(n.Content[0])
		}
	case yaml.AliasNode:
		return fromNode(n.Alias)
	case yaml.MappingNode:
		o := &jv{kind: jObject}
		for i := 0; i+1 < len(n.Content); i += 2 {
			if v := fromNode(n.Content[i+1]); v != nil {
				o.set(n.Content[i].Value, v)
			}
		}
		return o
	case yaml.SequenceNode:
		a := &jv{kind: jArray}
		for _, c := range n.Content {
			if v := fromNode(c); v != nil {
				a.items = append(a.items, v)
			}
		}
		return a
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return &jv{kind: jNull}
		case "!!bool":
			return &jv{kind: jBool, b: n.Value == "true" || n.Value == "True" || n.Value == "TRUE"}
		case "!!int", "!!float":
			if f, err := strconv.ParseFloat(n.Value, 64); err == nil && !math.IsInf(f, 0) && !math.IsNaN(f) {
				if json.Valid([]byte(n.Value)) {
					return &jv{kind: jNumber, text: n.Value}
				}
				return &jv{kind: jNumber, text: strconv.FormatFloat(f, 'f', -1, 64)}
			}
		}
		return &jv{kind: jString, text: n.Value}
	}
	return nil
}

// generator builds example values from schemas.
type generator struct {
	// skip names properties left out of objects at the top level (the
	// resource's id, which the server assigns).
	skip []string
	// notes collects what could not be respected; skipped the properties
	// of skip that were left out.
	notes   []string
	skipped []string
	stack   []*base.Schema
	refs    []string
}

func (g *generator) note(s string) {
	if !slices.Contains(g.notes, s) {
		g.notes = append(g.notes, s)
	}
}

// maxSchemaDepth bounds how deep a generated value nests.
const maxSchemaDepth = 8

// value generates a value for the schema: its example, const, default or
// first enum member when it has one, else one built from its type and
// constraints. name is the property's name, a hint for strings.
func (g *generator) value(sp *base.SchemaProxy, name string) *jv {
	if sp == nil {
		return &jv{kind: jNull}
	}
	// A reference already being generated is a recursive schema: stop
	// there (an optional member is left out, a required one is null).
	if sp.IsReference() {
		ref := sp.GetReference()
		if slices.Contains(g.refs, ref) {
			return nil
		}
		g.refs = append(g.refs, ref)
		defer func() { g.refs = g.refs[:len(g.refs)-1] }()
	}
	s := sp.Schema()
	if s == nil {
		if err := sp.GetBuildError(); err != nil {
			g.note("a schema does not build: " + err.Error())
		}
		return &jv{kind: jNull}
	}
	return g.schema(s, name)
}

func (g *generator) schema(s *base.Schema, name string) *jv {
	if slices.Contains(g.stack, s) || len(g.stack) >= maxSchemaDepth {
		return nil
	}
	g.stack = append(g.stack, s)
	defer func() { g.stack = g.stack[:len(g.stack)-1] }()

	if s.Const != nil {
		return fromNode(s.Const)
	}
	if s.Example != nil {
		return fromNode(s.Example)
	}
	if len(s.Examples) > 0 {
		return fromNode(s.Examples[0])
	}
	if len(s.Enum) > 0 {
		return fromNode(s.Enum[0])
	}
	if s.Default != nil {
		return fromNode(s.Default)
	}
	if len(s.AllOf) > 0 {
		return g.allOf(s, name)
	}
	if len(s.OneOf) > 0 {
		return g.value(s.OneOf[0], name)
	}
	if len(s.AnyOf) > 0 {
		return g.value(s.AnyOf[0], name)
	}
	switch schemaType(s) {
	case "object":
		return g.object(s)
	case "array":
		return g.array(s, name)
	case "string":
		return g.str(s, name)
	case "integer":
		return g.number(s, true)
	case "number":
		return g.number(s, false)
	case "boolean":
		return &jv{kind: jBool, b: true}
	case "null":
		return &jv{kind: jNull}
	}
	return &jv{kind: jString, text: "example"}
}

// schemaType returns the schema's type, inferring object or array from
// its keywords when it declares none; for a list of types, the first that
// is not null.
func schemaType(s *base.Schema) string {
	for _, t := range s.Type {
		if t != "null" {
			return t
		}
	}
	switch {
	case len(s.Type) > 0:
		return "null"
	case s.Properties != nil && s.Properties.Len() > 0, s.AdditionalProperties != nil:
		return "object"
	case s.Items != nil:
		return "array"
	}
	return ""
}

func (g *generator) allOf(s *base.Schema, name string) *jv {
	merged := &jv{kind: jObject}
	own := *s
	own.AllOf = nil
	parts := []*jv{}
	for _, p := range s.AllOf {
		if v := g.value(p, name); v != nil {
			parts = append(parts, v)
		}
	}
	if schemaType(&own) != "" || own.Properties != nil {
		if v := g.schema(&own, name); v != nil {
			parts = append(parts, v)
		}
	}
	for _, p := range parts {
		if p.kind != jObject {
			if len(parts) == 1 {
				return p
			}
			continue
		}
		for i, k := range p.keys {
			merged.set(k, p.vals[i])
		}
	}
	return merged
}

// freeForm reports whether an object accepts members it does not
// declare, by saying so (additionalProperties: true or a schema).
func freeForm(s *base.Schema) bool {
	ap := s.AdditionalProperties
	if ap == nil {
		return s.Properties == nil || s.Properties.Len() == 0
	}
	if ap.IsA() {
		return ap.A != nil
	}
	return ap.B
}

func (g *generator) object(s *base.Schema) *jv {
	o := &jv{kind: jObject}
	top := len(g.stack) == 1
	if s.Properties != nil {
		for name, p := range s.Properties.FromOldest() {
			if top && slices.Contains(g.skip, name) && !slices.Contains(s.Required, name) {
				g.skipped = append(g.skipped, name)
				continue
			}
			ps := p.Schema()
			if ps != nil && ps.ReadOnly != nil && *ps.ReadOnly {
				continue
			}
			if v := g.value(p, name); v != nil {
				o.set(name, v)
			} else if slices.Contains(s.Required, name) {
				o.set(name, &jv{kind: jNull})
			}
		}
	}
	for _, r := range s.Required {
		if o.get(r) == nil && !(s.Properties != nil && s.Properties.GetOrZero(r) != nil) {
			o.set(r, &jv{kind: jString, text: "example"})
		}
	}
	if freeForm(s) {
		// A free-form object takes the load tester's own members: a name,
		// a number and the padding.
		for _, m := range []struct {
			key  string
			kind jkind
		}{{"name", jName}, {"n", jN}, {"data", jData}} {
			if o.get(m.key) == nil {
				o.set(m.key, &jv{kind: m.kind})
			}
		}
	}
	if s.MinProperties != nil && int64(len(o.keys)) < *s.MinProperties {
		g.note("minProperties " + strconv.FormatInt(*s.MinProperties, 10) + " is not met by the generated body")
	}
	return o
}

func (g *generator) array(s *base.Schema, name string) *jv {
	a := &jv{kind: jArray}
	n := int64(1)
	if s.MinItems != nil && *s.MinItems > n {
		n = min(*s.MinItems, 16)
	}
	if s.MaxItems != nil && *s.MaxItems < n {
		n = *s.MaxItems
	}
	if s.Items == nil || !s.Items.IsA() {
		for range n {
			a.items = append(a.items, &jv{kind: jString, text: "example"})
		}
		return a
	}
	for i := range n {
		v := g.value(s.Items.A, name)
		if v == nil {
			break
		}
		if v.kind == jString && i > 0 && s.UniqueItems != nil && *s.UniqueItems {
			v = &jv{kind: jString, text: v.text + strconv.FormatInt(i, 10)}
		}
		a.items = append(a.items, v)
	}
	return a
}

// formatExamples are strings of the common formats.
var formatExamples = map[string]string{
	"date-time": "2026-01-02T03:04:05Z", "date": "2026-01-02", "time": "03:04:05Z",
	"email": "user@example.com", "idn-email": "user@example.com",
	"uri": "https://example.com/", "url": "https://example.com/", "iri": "https://example.com/",
	"uri-reference": "/example", "hostname": "example.com", "idn-hostname": "example.com",
	"ipv4": "192.0.2.1", "ipv6": "2001:db8::1", "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
	"byte": "ZXhhbXBsZQ==", "password": "example-password", "duration": "PT1M",
	"json-pointer": "/example", "regex": "^example$",
}

func (g *generator) str(s *base.Schema, name string) *jv {
	text, ok := formatExamples[s.Format]
	if !ok {
		if s.Format != "" && s.Format != "binary" {
			g.note("string format " + strconv.Quote(s.Format) + " is not known; a plain string is sent")
		}
		lower := strings.ToLower(name)
		switch {
		case strings.Contains(lower, "email"):
			text = "user@example.com"
		case strings.HasSuffix(lower, "url") || strings.HasSuffix(lower, "uri"):
			text = "https://example.com/"
		default:
			text = "example"
		}
	}
	if s.MinLength != nil && int64(len(text)) < *s.MinLength {
		text += strings.Repeat("x", int(min(*s.MinLength, 1<<16)-int64(len(text))))
	}
	if s.MaxLength != nil && int64(len(text)) > *s.MaxLength {
		text = text[:max(0, *s.MaxLength)]
	}
	if s.Pattern != "" {
		g.note("pattern " + strconv.Quote(s.Pattern) + " of " + strconv.Quote(name) +
			" is not generated; give the schema an example")
	}
	return &jv{kind: jString, text: text}
}

func (g *generator) number(s *base.Schema, integer bool) *jv {
	x := 1.0
	lo, hi := math.Inf(-1), math.Inf(1)
	if s.Minimum != nil {
		lo = *s.Minimum
	}
	if s.Maximum != nil {
		hi = *s.Maximum
	}
	// 3.0 marks the bounds exclusive with booleans, 3.1 gives numbers.
	if e := s.ExclusiveMinimum; e != nil {
		if e.IsB() {
			lo = math.Max(lo, e.B)
		}
		if e.IsB() || e.A {
			if integer {
				lo = math.Floor(lo) + 1
			} else {
				lo = math.Nextafter(lo, math.Inf(1))
			}
		}
	}
	if e := s.ExclusiveMaximum; e != nil {
		if e.IsB() {
			hi = math.Min(hi, e.B)
		}
		if e.IsB() || e.A {
			if integer {
				hi = math.Ceil(hi) - 1
			} else {
				hi = math.Nextafter(hi, math.Inf(-1))
			}
		}
	}
	if x < lo {
		x = lo
	}
	if x > hi {
		x = hi
	}
	if integer {
		x = math.Ceil(x)
	}
	if m := s.MultipleOf; m != nil && *m > 0 {
		x = math.Ceil(x / *m) * *m
	}
	if math.IsInf(x, 0) || math.IsNaN(x) {
		x = 0
	}
	if integer {
		return &jv{kind: jNumber, text: strconv.FormatFloat(math.Trunc(x), 'f', -1, 64)}
	}
	return &jv{kind: jNumber, text: strconv.FormatFloat(x, 'f', -1, 64)}
}

// padPreference are the names of the string members that best carry the
// padding of a body's size class, in order.
var padPreference = []string{"data", "body", "content", "description", "text", "note", "notes", "comment",
	"message", "details", "summary", "bio"}

// nameCandidates are the string members that best carry {{name}}, which
// varies the bodies.
var nameCandidates = []string{"name", "title", "username", "label", "slug"}

// vary puts the {{name}} placeholder in place of a free string member
// named like a name or a title, when the body has none yet.
func (g *generator) vary(v *jv, s *base.Schema) {
	if v == nil || v.kind != jObject || v.hasPlaceholder(jName) {
		return
	}
	for _, want := range nameCandidates {
		for _, k := range v.keys {
			if strings.EqualFold(k, want) && freeString(v, s, k) {
				v.set(k, &jv{kind: jName})
				return
			}
		}
	}
	for i, k := range v.keys {
		if v.vals[i].kind == jObject {
			g.vary(v.vals[i], propertySchema(s, k))
			return
		}
	}
}

// freeString reports whether member key of v is a string its schema does
// not constrain (no enum, const, format, pattern or short maxLength).
func freeString(v *jv, s *base.Schema, key string) bool {
	val := v.get(key)
	if val == nil || val.kind != jString {
		return false
	}
	ps := propertySchema(s, key)
	return ps == nil || len(ps.Enum) == 0 && ps.Const == nil && ps.Format == "" && ps.Pattern == "" &&
		(ps.MaxLength == nil || *ps.MaxLength >= 1<<20) && (ps.MinLength == nil || *ps.MinLength <= 8)
}

// pad puts the {{data}} placeholder in place of the best free string
// member of an object (or of an object it wraps), when the body has no
// placeholder yet; it returns the member's dotted path, "" when none fits.
func (g *generator) pad(v *jv, s *base.Schema) string {
	if v == nil || v.kind != jObject || v.hasPlaceholder(jData) {
		return ""
	}
	free := func(key string) bool { return freeString(v, s, key) }
	for _, want := range padPreference {
		for _, k := range v.keys {
			if strings.EqualFold(k, want) && free(k) {
				v.set(k, &jv{kind: jData})
				return k
			}
		}
	}
	for _, k := range v.keys {
		if free(k) {
			v.set(k, &jv{kind: jData})
			return k
		}
	}
	// A wrapper such as {"article": {...}}.
	for i, k := range v.keys {
		if p := g.pad(v.vals[i], propertySchema(s, k)); p != "" {
			return k + "." + p
		}
	}
	return ""
}

// propertySchema returns the schema of an object's property, looking
// through allOf; nil when unknown.
func propertySchema(s *base.Schema, key string) *base.Schema {
	if s == nil {
		return nil
	}
	if s.Properties != nil {
		if p := s.Properties.GetOrZero(key); p != nil {
			return p.Schema()
		}
	}
	for _, part := range s.AllOf {
		if ps := propertySchema(part.Schema(), key); ps != nil {
			return ps
		}
	}
	return nil
}
