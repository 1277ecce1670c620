package openapi_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load/openapi"
)

// bodyOf reads a document whose POST /things takes a JSON body of the
// schema (and the media type's own example, when given) and returns the
// body generated.
func bodyOf(t *testing.T, version, schema, example string) *openapi.Body {
	t.Helper()
	media := `{"schema": ` + schema
	if example != "" {
		media += `, "example": ` + example
	}
	media += `}`
	doc := `{"openapi": "` + version + `", "info": {"title": "t", "version": "1"},
		"paths": {"/things": {"post": {"requestBody": {"content": {"application/json": ` + media + `}},
			"responses": {"201": {"description": "created"}}}}},
		"components": {"schemas": {
			"Name": {"type": "string", "minLength": 3, "maxLength": 5},
			"Node": {"type": "object", "required": ["value"], "properties": {"value": {"type": "integer"}, "next": {"$ref": "#/components/schemas/Node"}}}
		}}}`
	d := read(t, []byte(doc))
	o := d.Find("POST", "/things")
	if o == nil || o.Body == nil {
		t.Fatalf("no body in %s", doc)
	}
	return o.Body
}

func TestGeneratedBodies(t *testing.T) {
	cases := []struct {
		name, version, schema, example string
		want, template, note           string
	}{
		{name: "the media type's example wins", version: "3.1.0",
			schema: `{"type": "object", "properties": {"a": {"type": "string"}}}`, example: `{"z": 1, "a": "given"}`,
			want: `{"z":1,"a":"given"}`, template: `{"z":1,"a":{{data}}}`},
		{name: "required, enums, formats, lengths", version: "3.1.0",
			schema: `{"type": "object", "required": ["kind", "when"], "additionalProperties": false, "properties": {
				"kind": {"type": "string", "enum": ["b", "a"]},
				"when": {"type": "string", "format": "date-time"},
				"mail": {"type": "string", "format": "email"},
				"code": {"type": "string", "minLength": 12, "maxLength": 12},
				"short": {"type": "string", "maxLength": 3},
				"name": {"$ref": "#/components/schemas/Name"},
				"secret": {"type": "string", "readOnly": true}}}`,
			want:     `{"kind":"b","when":"2026-01-02T03:04:05Z","mail":"user@example.com","code":"examplexxxxx","short":"exa","name":"examp"}`,
			template: `{"kind":"b","when":"2026-01-02T03:04:05Z","mail":"user@example.com","code":"examplexxxxx","short":"exa","name":"examp"}`,
			note:     "no free string member carries the padding"},
		{name: "numbers within their bounds", version: "3.1.0",
			schema: `{"type": "object", "properties": {
				"a": {"type": "integer", "minimum": 5},
				"b": {"type": "integer", "exclusiveMinimum": 5},
				"c": {"type": "number", "maximum": 0.5},
				"d": {"type": "integer", "minimum": 7, "multipleOf": 5},
				"e": {"type": "integer", "default": 42},
				"f": {"type": "boolean"}}}`,
			want: `{"a":5,"b":6,"c":0.5,"d":10,"e":42,"f":true}`},
		{name: "3.0 exclusive bounds are booleans", version: "3.0.3",
			schema: `{"type": "object", "properties": {"a": {"type": "integer", "minimum": 1, "exclusiveMinimum": true},
				"b": {"type": "number", "nullable": true, "example": 2.5}}}`,
			want: `{"a":2,"b":2.5}`},
		{name: "arrays, allOf, oneOf, recursion", version: "3.1.0",
			schema: `{"allOf": [{"type": "object", "properties": {"tags": {"type": "array", "minItems": 2, "uniqueItems": true, "items": {"type": "string"}}}},
				{"type": "object", "properties": {"pick": {"oneOf": [{"type": "integer"}, {"type": "string"}]}, "node": {"$ref": "#/components/schemas/Node"}}}]}`,
			want: `{"tags":["example","example1"],"pick":1,"node":{"value":1}}`},
		{name: "a free-form object takes name, n and data", version: "3.1.0",
			schema: `{"type": "object", "additionalProperties": true, "properties": {"title": {"type": "string"}}}`,
			want:   `{"title":"example","name":"example","n":1,"data":"example data"}`, template: `{"title":"example","name":"{{name}}","n":{{n}},"data":{{data}}}`},
		{name: "a pattern is reported", version: "3.1.0",
			schema: `{"type": "object", "properties": {"sku": {"type": "string", "pattern": "^[A-Z]{3}$"}, "note": {"type": "string"}}}`,
			want:   `{"sku":"example","note":"example"}`, template: `{"sku":"example","note":{{data}}}`, note: `pattern "^[A-Z]{3}$" of "sku"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := bodyOf(t, tc.version, tc.schema, tc.example)
			if string(b.Example) != tc.want {
				t.Errorf("example\n  %s\nwant\n  %s", b.Example, tc.want)
			}
			if !json.Valid(b.Example) {
				t.Errorf("the example is not JSON: %s", b.Example)
			}
			if tc.template != "" && b.Template != tc.template {
				t.Errorf("template\n  %s\nwant\n  %s", b.Template, tc.template)
			}
			rendered := strings.NewReplacer("{{name}}", "n", "{{n}}", "1", "{{data}}", `"d"`).Replace(b.Template)
			if !json.Valid([]byte(rendered)) {
				t.Errorf("the template does not render to JSON: %s", b.Template)
			}
			if tc.note != "" && !strings.Contains(strings.Join(b.Notes, "; "), tc.note) {
				t.Errorf("notes %v, want %q", b.Notes, tc.note)
			}
		})
	}
}
