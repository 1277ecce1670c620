package itemsapi_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
)

// batchResult is one result of a batch answer.
type batchResult struct {
	Status int
	Item   map[string]any
	Error  *struct{ Code, Message string }
}

func (e *env) batch(t *testing.T, ops ...string) []batchResult {
	t.Helper()
	return e.batchOf(t, "", ops...)
}

// batchOf sends a batch with extra headers: skipRequestCheck for a
// request the validator cannot read.
func (e *env) batchOf(t *testing.T, skip string, ops ...string) []batchResult {
	t.Helper()
	r := e.do("POST", "/items/_batch", `{"operations":[`+strings.Join(ops, ",")+`]}`, skipRequestCheck, skip).want(t, 200)
	if r.header.Get("Content-Type") != "application/json" {
		t.Errorf("got Content-Type %q", r.header.Get("Content-Type"))
	}
	var body struct{ Results []batchResult }
	d := json.NewDecoder(strings.NewReader(string(r.body)))
	d.UseNumber()
	d.DisallowUnknownFields()
	if err := d.Decode(&body); err != nil {
		t.Fatalf("batch answer %s: %v", r.body, err)
	}
	if len(body.Results) != len(ops) {
		t.Fatalf("got %d results for %d operations: %s", len(body.Results), len(ops), r.body)
	}
	return body.Results
}

// wantResults checks each result's status, and its error code when the
// status is an error's.
func wantResults(t *testing.T, got []batchResult, want ...any) {
	t.Helper()
	for i := 0; i < len(want); i += 2 {
		r := got[i/2]
		status, code := want[i].(int), want[i+1].(string)
		if r.Status != status {
			t.Errorf("result %d: got status %d, want %d (%+v)", i/2, r.Status, status, r.Error)
			continue
		}
		switch {
		case code == "" && r.Error != nil:
			t.Errorf("result %d: got error %+v", i/2, r.Error)
		case code != "" && (r.Error == nil || r.Error.Code != code || r.Error.Message == ""):
			t.Errorf("result %d: got error %+v, want code %s", i/2, r.Error, code)
		case code != "" && r.Item != nil:
			t.Errorf("result %d: an error with an item", i/2)
		}
	}
}

func TestBatch(t *testing.T) {
	e := newEnv(t)
	t.Run("InOrder", func(t *testing.T) {
		res := e.batch(t,
			`{"op":"create","item":{"a":1}}`,
			`{"op":"create","id":"b1","item":{"n":12345678901234567890}}`,
			`{"op":"get","id":"b1"}`,
			`{"op":"put","id":"b1","item":{"p":true}}`,
			`{"op":"patch","id":"b1","item":{"q":1.10,"p":null}}`,
			`{"op":"get","id":"b1"}`,
			`{"op":"delete","id":"b1"}`,
			`{"op":"get","id":"b1"}`,
			`{"op":"delete","id":"b1"}`,
			`{"op":"create","item":{"id":"b1"}}`,
			`{"op":"create","id":"b1","item":{}}`,
		)
		wantResults(t, res, 201, "", 201, "", 200, "", 200, "", 200, "", 200, "", 204, "", 404, "not_found", 404, "not_found", 201, "", 409, "conflict")
		if id, _ := res[0].Item["id"].(string); items.ValidateID(id) != nil || res[0].Item["a"] != json.Number("1") {
			t.Errorf("create: got %v", res[0].Item)
		}
		if res[1].Item["n"] != json.Number("12345678901234567890") {
			t.Errorf("create: got %v", res[1].Item)
		}
		if res[5].Item["version"] != json.Number("3") || res[5].Item["q"] != json.Number("1.1") || res[5].Item["p"] != nil {
			t.Errorf("get after put and patch: got %v", res[5].Item)
		}
		if res[6].Item != nil {
			t.Errorf("delete: got item %v", res[6].Item)
		}
		if res[9].Item["version"] != json.Number("1") {
			t.Errorf("recreate: got %v", res[9].Item)
		}
		// The batch's writes are there for single requests.
		e.do("GET", "/items/b1", "").want(t, 200)
		e.do("GET", "/items/"+res[0].Item["id"].(string), "").want(t, 200)
	})
	t.Run("OperationErrors", func(t *testing.T) {
		e.do("POST", "/items", `{"id":"b2"}`).want(t, 201)
		res := e.batchOf(t, "operations that break the document on purpose",
			`{"op":"create","id":"-bad","item":{}}`,
			`{"op":"create","id":"b3","item":{"id":"b4"}}`,
			`{"op":"create","item":{"id":"_x"}}`,
			`{"op":"create"}`,
			`{"op":"create","item":[1]}`,
			`{"op":"create","item":"x"}`,
			`{"op":"put","id":"b2"}`,
			`{"op":"put","item":{}}`,
			`{"op":"put","id":"absent","item":{}}`,
			`{"op":"put","id":"b2","item":{"id":"other"}}`,
			`{"op":"patch","id":"b2","item":[]}`,
			`{"op":"patch","id":"absent","item":{}}`,
			`{"op":"get"}`,
			`{"op":"get","id":""}`,
			`{"op":"delete","id":"a b"}`,
			`{"op":"create","item":{"big":"`+strings.Repeat("x", items.MaxItemSize)+`"}}`,
			`{"op":"create","item":{"n":1e999}}`,
			`{"op":"get","id":"b2"}`,
		)
		wantResults(t, res,
			400, "invalid", 400, "invalid", 400, "invalid", 400, "invalid", 400, "invalid", 400, "invalid",
			400, "invalid", 400, "invalid", 404, "not_found", 400, "invalid", 400, "invalid", 404, "not_found",
			400, "invalid", 400, "invalid", 400, "invalid", 413, "too_large", 400, "invalid", 200, "")
		e.do("GET", "/items/b3", "").wantError(t, 404, "not_found")
	})
	t.Run("TwentyFive", func(t *testing.T) {
		var ops []string
		for i := range items.MaxBatchOps {
			ops = append(ops, fmt.Sprintf(`{"op":"create","id":"t%02d","item":{}}`, i))
		}
		res := e.batch(t, ops...)
		for i, r := range res {
			if r.Status != 201 {
				t.Errorf("result %d: got %d", i, r.Status)
			}
		}
	})
	bad := map[string]string{
		"empty object":      `{}`,
		"no operations":     `{"operations":[]}`,
		"26 operations":     `{"operations":[` + strings.TrimSuffix(strings.Repeat(`{"op":"get","id":"a"},`, 26), ",") + `]}`,
		"unknown op":        `{"operations":[{"op":"upsert","id":"a"}]}`,
		"no op":             `{"operations":[{"id":"a"}]}`,
		"op not a string":   `{"operations":[{"op":1,"id":"a"}]}`,
		"id not a string":   `{"operations":[{"op":"get","id":1}]}`,
		"unknown member":    `{"operations":[{"op":"get","id":"a","ifMatch":"x"}]}`,
		"unknown top":       `{"operations":[{"op":"get","id":"a"}],"atomic":true}`,
		"not an array":      `{"operations":{"op":"get"}}`,
		"operation array":   `{"operations":[["get","a"]]}`,
		"not an object":     `[{"op":"get","id":"a"}]`,
		"malformed":         `{"operations":[{"op":"get",`,
		"trailing":          `{"operations":[{"op":"get","id":"a"}]} x`,
		"duplicate":         `{"operations":[{"op":"get","op":"put","id":"a"}]}`,
		"empty body":        ``,
		"null":              `null`,
		"bad utf-8":         "{\"operations\":[{\"op\":\"get\",\"id\":\"\xff\"}]}",
		"operations twice":  `{"operations":[{"op":"get","id":"a"}],"operations":[]}`,
		"malformed in item": `{"operations":[{"op":"create","item":{"a":}}]}`,
	}
	for name, body := range bad {
		t.Run("ErrInvalid/"+name, func(t *testing.T) {
			e.do("POST", "/items/_batch", body).wantError(t, 400, "invalid")
		})
	}
}
