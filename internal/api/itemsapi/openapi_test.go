package itemsapi_test

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
)

// TestOpenAPIDocument checks that the embedded document is a valid
// OpenAPI 3.1 document, and that it and the Handler describe the same
// routes and errors. (That every answer follows it is checked by every
// test, through checkingTransport.)
func TestOpenAPIDocument(t *testing.T) {
	doc, err := libopenapi.NewDocument(itemsapi.OpenAPI)
	if err != nil {
		t.Fatal(err)
	}
	if v := doc.GetVersion(); v != "3.1.0" {
		t.Errorf("got version %s, want 3.1.0", v)
	}
	model, err := doc.BuildV3Model()
	if err != nil {
		t.Fatalf("build v3 model: %v", err)
	}
	v, errs := validator.NewValidator(doc)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if ok, verrs := v.ValidateDocument(); !ok {
		for _, e := range verrs {
			t.Errorf("%s: %s", e.Message, e.Reason)
			for _, se := range e.SchemaValidationErrors {
				t.Errorf("  %s at %s", se.Reason, se.KeywordLocation)
			}
		}
	}

	t.Run("Routes", func(t *testing.T) {
		paths := model.Model.Paths.PathItems
		described := map[string]bool{}
		for path, item := range paths.FromOldest() {
			for method := range item.GetOperations().FromOldest() {
				described[strings.ToUpper(method)+" "+path] = true
			}
		}
		served := map[string]bool{}
		for _, rt := range itemsapi.Routes() {
			r := rt.Method + " " + rt.Pattern
			served[r] = true
			if !described[r] {
				t.Errorf("route %s is not in the document", r)
			}
		}
		for r := range described {
			if !served[r] {
				t.Errorf("the document describes %s, which is not served", r)
			}
		}
	})
	t.Run("Errors", func(t *testing.T) {
		var raw struct {
			Components struct {
				Responses map[string]struct {
					Content map[string]struct {
						Schema struct {
							Properties struct {
								Code struct{ Const string }
							}
						}
					}
				}
				Schemas struct {
					Error struct {
						Properties struct {
							Code struct{ Enum []string }
						}
					}
				}
			}
			Paths map[string]map[string]json.RawMessage
		}
		if err := json.Unmarshal(itemsapi.OpenAPI, &raw); err != nil {
			t.Fatal(err)
		}
		codes := map[string]bool{}
		for _, r := range raw.Components.Responses {
			codes[r.Content["application/json"].Schema.Properties.Code.Const] = true
		}
		// The document is the function's: the gateway's own codes
		// (bad_gateway, gateway_timeout) are not its answers.
		var contract []string
		for _, code := range rest.Codes() {
			if code != rest.CodeBadGateway && code != rest.CodeGatewayTimeout {
				contract = append(contract, code)
			}
		}
		for _, code := range contract {
			if !codes[code] {
				t.Errorf("error code %s has no response in the document", code)
			}
			if !slices.Contains(raw.Components.Schemas.Error.Properties.Code.Enum, code) {
				t.Errorf("error code %s is not in the Error schema", code)
			}
		}
		if len(raw.Components.Schemas.Error.Properties.Code.Enum) != len(contract) {
			t.Errorf("the Error schema has codes %v", raw.Components.Schemas.Error.Properties.Code.Enum)
		}
		// Every operation answers with statuses that the table knows.
		known := map[int]bool{200: true, 201: true, 204: true, 304: true}
		for _, code := range contract {
			known[statusOf(code)] = true
		}
		for path, ops := range raw.Paths {
			for method, op := range ops {
				var o struct{ Responses map[string]json.RawMessage }
				if json.Unmarshal(op, &o) != nil || o.Responses == nil {
					continue // not an operation (parameters, description)
				}
				for status := range o.Responses {
					n, err := strconv.Atoi(status)
					if err != nil || !known[n] {
						t.Errorf("%s %s answers %s", method, path, status)
					}
				}
			}
		}
	})
}
