package itemsapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
)

// wantContractError fails unless body is the contract's error for a 4xx
// status.
func wantContractError(t *testing.T, status int, body []byte) {
	t.Helper()
	if status < 400 || status >= 500 {
		t.Fatalf("got status %d for bad input, want a 4xx: %s", status, body)
	}
	var e struct{ Code, Message string }
	d := json.NewDecoder(bytes.NewReader(body))
	d.DisallowUnknownFields()
	if err := d.Decode(&e); err != nil || e.Message == "" {
		t.Fatalf("status %d with body %q, want a contract error (%v)", status, body, err)
	}
	if statusOf(e.Code) != status {
		t.Fatalf("got code %q with status %d", e.Code, status)
	}
}

var eventSeeds = []string{
	`{"operation":"ping"}`,
	`{"operation":"echo","payload":{"a":[1,2.50,{"b":null}],"é":"😀"}}`,
	`{"operation":"create","tableName":"items","payload":{"Item":{"id":"a1","n":12345678901234567890}}}`,
	`{"operation":"read","payload":{"Key":{"id":"a1"},"ConsistentRead":true}}`,
	`{"operation":"update","payload":{"Key":{"id":"a1"},"AttributeUpdates":{"x":{"Value":1,"Action":"PUT"},"y":{"Action":"DELETE"}}}}`,
	`{"operation":"delete","payload":{"Key":{"id":"a1"}}}`,
	`{"operation":"list","payload":{"Limit":2,"ExclusiveStartKey":{"id":"a0"}}}`,
	`{"operation":"frob"}`,
	`{"operation":5}`,
	`{"body":"{\"operation\":\"ping\"}"}`,
	`{"operation":"read","tableName":"x"}`,
	`[]`, `null`, ``, `{"operation":"echo","payload":`,
	`{"operation":"create","payload":{"Item":{"id":"a1","n":1},"ConditionExpression":"attribute_not_exists(id) OR n < :n","ExpressionAttributeValues":{":n":5},"ReturnValues":"ALL_OLD","ReturnConsumedCapacity":"TOTAL"}}`,
	`{"operation":"update","payload":{"Key":{"id":"a1"},"UpdateExpression":"SET #l = list_append(if_not_exists(#l, :e), :v), n = n + :one REMOVE x[0] ADD c :one","ExpressionAttributeNames":{"#l":"l"},"ExpressionAttributeValues":{":e":[],":v":[1],":one":1},"ReturnValues":"UPDATED_NEW"}}`,
	`{"operation":"read","payload":{"Key":{"id":"a1"},"ProjectionExpression":"n, l[0], #m.k","ExpressionAttributeNames":{"#m":"m"},"ReturnConsumedCapacity":"INDEXES"}}`,
	`{"operation":"list","payload":{"Limit":3,"FilterExpression":"size(l) > :z AND begins_with(s, :p)","ExpressionAttributeValues":{":z":0,":p":"a"},"Select":"COUNT"}}`,
	`{"operation":"query","payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v AND begins_with(id, :p)","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":"lamp",":p":"a"},"Limit":2}}`,
	`{"operation":"delete","payload":{"Key":{"id":"a1"},"ConditionExpression":"version = :v","ExpressionAttributeValues":{":v":2},"ReturnValues":"ALL_OLD"}}`,
}

// FuzzDispatch checks the /ops decoder and dispatcher: no panic, and bad
// input is a 4xx, either the original's unrecognized-operation answer or
// a contract error; never a 5xx.
func FuzzDispatch(f *testing.F) {
	for _, s := range eventSeeds {
		f.Add([]byte(s))
	}
	h := itemsapi.New(newStore(f))
	f.Fuzz(func(t *testing.T, event []byte) {
		res := h.Dispatch(context.Background(), "fuzz", event)
		if !json.Valid(res.AppendLambdaJSON(nil)) {
			t.Fatalf("the Lambda answer is not JSON: %s", res.AppendLambdaJSON(nil))
		}
		switch {
		case res.Status == http.StatusOK:
			if !json.Valid(res.Body) {
				t.Fatalf("200 with a body that is not JSON: %q", res.Body)
			}
		case bytes.HasPrefix(res.Body, []byte(`{"error": "Unrecognized operation \"`)):
			if res.Status != http.StatusBadRequest || !json.Valid(res.Body) {
				t.Fatalf("got %d %q", res.Status, res.Body)
			}
		default:
			wantContractError(t, res.Status, res.Body)
		}
		if res.Err != nil {
			t.Fatalf("an internal error: %v", res.Err)
		}
	})
}

// FuzzBatch checks the batch decoder and runner: no panic, a bad body is
// a 4xx contract error, and a batch that runs has no 5xx result.
func FuzzBatch(f *testing.F) {
	for _, s := range []string{
		`{"operations":[{"op":"create","id":"b1","item":{"a":1}},{"op":"get","id":"b1"},{"op":"patch","id":"b1","item":{"a":null}},{"op":"put","id":"b1","item":{"b":2}},{"op":"delete","id":"b1"}]}`,
		`{"operations":[{"op":"create","item":{"id":"x"}}]}`,
		`{"operations":[]}`, `{"operations":[{"op":"nope"}]}`, `{"operations":[{"op":"get","id":1}]}`,
		`{"operations":[` + strings.TrimSuffix(strings.Repeat(`{"op":"get","id":"a"},`, 26), ",") + `]}`,
		`{}`, `[]`, ``, `{"operations":[{"op":"get","id":"a"}]} x`,
	} {
		f.Add([]byte(s))
	}
	h := itemsapi.New(newStore(f))
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/items/_batch", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			wantContractError(t, w.Code, w.Body.Bytes())
			return
		}
		var res struct {
			Results []struct {
				Status int
				Item   json.RawMessage
				Error  *struct{ Code, Message string }
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
			t.Fatalf("answer %q: %v", w.Body.Bytes(), err)
		}
		if len(res.Results) < 1 || len(res.Results) > 25 {
			t.Fatalf("got %d results", len(res.Results))
		}
		for i, r := range res.Results {
			if r.Status >= 500 {
				t.Fatalf("result %d: status %d for %q", i, r.Status, body)
			}
			if (r.Status >= 400) != (r.Error != nil) || (r.Error != nil && statusOf(r.Error.Code) != r.Status) {
				t.Fatalf("result %d: status %d with error %+v", i, r.Status, r.Error)
			}
		}
	})
}

// statusOf is the status of an error code, 0 for a code the contract does
// not know.
func statusOf(code string) int {
	s, _ := rest.Status(code)
	return s
}
