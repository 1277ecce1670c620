package openapi_test

import (
	"encoding/json"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/load/openapi"
)

// FuzzRead feeds the document reader: it returns a document or an error,
// never panics, and whatever it maps has bodies that are JSON.
func FuzzRead(f *testing.F) {
	f.Add(itemsapi.OpenAPI)
	f.Add(file(f, "testdata", "conduit", "openapi.yml"))
	f.Add(file(f, "testdata", "petstore", "openapi.yaml"))
	f.Add([]byte("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    post:\n      requestBody:\n        content:\n          application/json:\n            schema: {type: object, required: [x], properties: {x: {type: string, enum: [q]}}}\n      responses: {'201': {description: c}}\n  /a/{id}:\n    get: {responses: {'200': {description: ok}}}\n"))
	f.Add([]byte(`{"openapi":"3.1.0","paths":{"/x":{"post":{"requestBody":{"content":{"application/json":{"schema":{"$ref":"#/components/schemas/A"}}}}}}},"components":{"schemas":{"A":{"allOf":[{"$ref":"#/components/schemas/A"}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := openapi.Read(data)
		if err != nil {
			return
		}
		for _, o := range d.Operations {
			if o.Body != nil && o.Body.Example != nil && !json.Valid(o.Body.Example) {
				t.Fatalf("%s %s: body %q is not JSON", o.Method, o.Path, o.Body.Example)
			}
		}
		c, err := d.CRUD()
		if err != nil {
			return
		}
		_ = c.Report()
	})
}
