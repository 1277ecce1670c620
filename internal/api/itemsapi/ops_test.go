package itemsapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/items"
)

// ops posts an event to /ops and checks the original's success headers.
func (e *env) ops(t *testing.T, event string, hdrs ...string) *resp {
	t.Helper()
	r := e.do("POST", "/ops", event, hdrs...)
	if r.status == 200 {
		if r.header.Get("Content-Type") != "application/json" || r.header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("got headers %v, want the original's Content-Type and Access-Control-Allow-Origin", r.header)
		}
	}
	return r
}

// wantBody fails unless the body is exactly want.
func (r *resp) wantBody(t *testing.T, status int, want string) {
	t.Helper()
	r.want(t, status)
	if string(r.body) != want {
		t.Errorf("got body\n%s\nwant\n%s", r.body, want)
	}
}

// pyItem is an item as the original's json.dumps wrote it, from the REST
// form of the same item.
func pyItem(t *testing.T, e *env, id string, attrs string) string {
	t.Helper()
	it := e.do("GET", "/items/"+id, "").want(t, 200).obj(t)
	s := fmt.Sprintf(`{"id": "%s", "version": %s, "createdAt": "%s", "updatedAt": "%s"`, id, it["version"], it["createdAt"], it["updatedAt"])
	if attrs != "" {
		s += ", " + attrs
	}
	return s + "}"
}

func TestOps(t *testing.T) {
	crud(t)
	e := newEnv(t)
	t.Run("Ping", func(t *testing.T) {
		e.ops(t, `{"operation":"ping"}`).wantBody(t, 200, `"pong"`)
		e.ops(t, `{"operation":"ping","tableName":"items","payload":{"x":1}}`).wantBody(t, 200, `"pong"`)
	})
	t.Run("Echo", func(t *testing.T) {
		n := "1.10"
		if subsetCRUD() {
			n = "1.1" // the contract lets a number's text be normalized, as the article's json.loads does
		}
		e.ops(t, `{"operation":"echo","payload":{"a":[1,2,{"b":null}],"é":"ü😀","n":`+n+`,"big":12345678901234567890,"t":true,"f":false,"e":{},"l":[]}}`).
			wantBody(t, 200, `{"a": [1, 2, {"b": null}], "\u00e9": "\u00fc\ud83d\ude00", "n": `+n+`, "big": 12345678901234567890, "t": true, "f": false, "e": {}, "l": []}`)
		e.ops(t, `{"operation":"echo","payload":"q\"\\/\n\r\t\b\f\u0001\u007f"}`).wantBody(t, 200, `"q\"\\/\n\r\t\b\f\u0001\u007f"`)
		e.ops(t, `{"operation":"echo"}`).wantBody(t, 200, `{}`)
		e.ops(t, `{"operation":"echo","payload":null}`).wantBody(t, 200, `null`)
		e.ops(t, `{"operation":"echo","payload":[ 1 , "x" ]}`).wantBody(t, 200, `[1, "x"]`)
		e.ops(t, `{"payload":{"z":1},"operation":"echo"}`).wantBody(t, 200, `{"z": 1}`)
	})
	t.Run("Unrecognized", func(t *testing.T) {
		for _, tc := range []struct{ op, want string }{
			{`"frobnicate"`, `{"error": "Unrecognized operation \"frobnicate\""}`},
			{`""`, `{"error": "Unrecognized operation \"\""}`},
			{`"Create"`, `{"error": "Unrecognized operation \"Create\""}`},
			{`"a\"b é"`, `{"error": "Unrecognized operation \"a\"b \u00e9\""}`},
			{`5`, `{"error": "Unrecognized operation \"5\""}`},
			{`true`, `{"error": "Unrecognized operation \"True\""}`},
			{`null`, `{"error": "Unrecognized operation \"None\""}`},
		} {
			if subsetCRUD() && (tc.op == `true` || tc.op == `null`) {
				continue // Python's spelling of True and None, which a port to another language need not keep
			}
			// As the original: before looking at the table or the payload.
			r := e.ops(t, `{"operation":`+tc.op+`,"tableName":"elsewhere","payload":7}`)
			r.wantBody(t, 400, tc.want)
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Errorf("got Access-Control-Allow-Origin on the 400, which the original did not set")
			}
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("got Content-Type %q", r.header.Get("Content-Type"))
			}
		}
	})
	t.Run("CreateAndRead", func(t *testing.T) {
		e.ops(t, `{"operation":"create","tableName":"items","payload":{"Item":{"id":"o1","name":"x","n":1.50,"big":12345678901234567890}}}`).wantBody(t, 200, `{}`)
		e.ops(t, `{"operation":"read","tableName":"items","payload":{"Key":{"id":"o1"}}}`).
			wantBody(t, 200, `{"Item": `+pyItem(t, e, "o1", `"big": 12345678901234567890, "n": 1.5, "name": "x"`)+`}`)
		// Create is a put: it replaces, as PutItem does.
		e.ops(t, `{"operation":"create","payload":{"Item":{"id":"o1","other":"é"}}}`).wantBody(t, 200, `{}`)
		r := e.ops(t, `{"operation":"read","payload":{"Key":{"id":"o1"},"ConsistentRead":true}}`)
		r.wantBody(t, 200, `{"Item": `+pyItem(t, e, "o1", `"other": "\u00e9"`)+`}`)
		if v := e.do("GET", "/items/o1", "").want(t, 200).obj(t)["version"]; v != json.Number("2") {
			t.Errorf("got version %v after a replacing create, want 2", v)
		}
		// The REST side sees the same item, in the same tenant.
		e.do("GET", "/items/o1", "", tenantHeader, "other").wantError(t, 404, "not_found")
	})
	t.Run("ReadAbsent", func(t *testing.T) {
		e.ops(t, `{"operation":"read","payload":{"Key":{"id":"absent"}}}`).wantBody(t, 200, `{}`)
	})
	t.Run("Update", func(t *testing.T) {
		// An absent item is created, as UpdateItem does.
		r := e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},"AttributeUpdates":{"name":{"Value":"n","Action":"PUT"},"count":{"Value":10}}}}`)
		r.wantBody(t, 200, `{"Attributes": `+pyItem(t, e, "u1", `"count": 10, "name": "n"`)+`}`)
		r = e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},"AttributeUpdates":{"name":{"Action":"DELETE"},"count":{"Value":11},"extra":{"Value":{"deep":[1.0]}},"gone":{"Action":"DELETE"},"nil":{"Value":null}}}}`)
		r.wantBody(t, 200, `{"Attributes": `+pyItem(t, e, "u1", `"count": 11, "extra": {"deep": [1]}, "nil": null`)+`}`)
		if v := e.do("GET", "/items/u1", "").want(t, 200).obj(t)["version"]; v != json.Number("2") {
			t.Errorf("got version %v, want 2", v)
		}
		// Server-managed names are ignored, as in any body; no updates at all
		// still writes, as UpdateItem does.
		e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u1"},"AttributeUpdates":{"version":{"Value":99}}}}`).want(t, 200)
		r = e.ops(t, `{"operation":"update","payload":{"Key":{"id":"u2"}}}`)
		r.wantBody(t, 200, `{"Attributes": `+pyItem(t, e, "u2", "")+`}`)
	})
	t.Run("Delete", func(t *testing.T) {
		e.ops(t, `{"operation":"create","payload":{"Item":{"id":"del1"}}}`).wantBody(t, 200, `{}`)
		e.ops(t, `{"operation":"delete","payload":{"Key":{"id":"del1"}}}`).wantBody(t, 200, `{}`)
		e.do("GET", "/items/del1", "").wantError(t, 404, "not_found")
		e.ops(t, `{"operation":"delete","payload":{"Key":{"id":"del1"}}}`).wantBody(t, 200, `{}`)
	})
	t.Run("List", func(t *testing.T) {
		tenant := []string{tenantHeader, "lister"}
		e.ops(t, `{"operation":"list"}`, tenant...).wantBody(t, 200, `{"Items": [], "Count": 0, "ScannedCount": 0}`)
		for i := range 5 {
			e.ops(t, fmt.Sprintf(`{"operation":"create","payload":{"Item":{"id":"k%d","i":%d}}}`, i, i), tenant...).wantBody(t, 200, `{}`)
		}
		var got []string
		start := ""
		for page := 0; page < 5; page++ {
			payload := `{"Limit":2}`
			if start != "" {
				payload = `{"Limit":2,"ExclusiveStartKey":{"id":"` + start + `"}}`
			}
			r := e.ops(t, `{"operation":"list","payload":`+payload+`}`, tenant...).want(t, 200)
			var body struct {
				Items            []map[string]any
				Count            int
				ScannedCount     int
				LastEvaluatedKey *struct{ ID string }
			}
			if err := json.Unmarshal(r.body, &body); err != nil {
				t.Fatal(err)
			}
			if body.Count != len(body.Items) || body.ScannedCount != len(body.Items) {
				t.Errorf("got Count %d ScannedCount %d for %d items", body.Count, body.ScannedCount, len(body.Items))
			}
			for _, it := range body.Items {
				got = append(got, it["id"].(string))
			}
			if body.LastEvaluatedKey == nil {
				break
			}
			start = body.LastEvaluatedKey.ID
		}
		if strings.Join(got, ",") != "k0,k1,k2,k3,k4" {
			t.Errorf("got %v", got)
		}
		// The exact form of a page, and a Limit beyond 1000 is as good as 1000.
		r := e.ops(t, `{"operation":"list","payload":{"Limit":1}}`, tenant...)
		r.wantBody(t, 200, `{"Items": [`+itemPy(t, e, "lister", "k0", `"i": 0`)+`], "Count": 1, "ScannedCount": 1, "LastEvaluatedKey": {"id": "k0"}}`)
		if r := e.ops(t, `{"operation":"list","payload":{"Limit":100000000000000000000}}`, tenant...).want(t, 200); strings.Contains(string(r.body), "LastEvaluatedKey") {
			t.Errorf("got %s", r.body)
		}
	})
	t.Run("Alias", func(t *testing.T) {
		beyondCRUD(t, "/ops beside /DynamoDBManager")
		r := e.do("POST", "/DynamoDBManager", `{"operation":"read","payload":{"Key":{"id":"o1"}}}`).want(t, 200)
		if want := e.ops(t, `{"operation":"read","payload":{"Key":{"id":"o1"}}}`).want(t, 200); string(r.body) != string(want.body) {
			t.Errorf("got %s, want %s", r.body, want.body)
		}
		e.do("POST", "/DynamoDBManager", `{"operation":"nope"}`).wantBody(t, 400, `{"error": "Unrecognized operation \"nope\""}`)
	})
	t.Run("ErrTooLarge", func(t *testing.T) {
		big := strings.Repeat("x", items.MaxItemSize)
		e.do("POST", "/ops", `{"operation":"create","payload":{"Item":{"id":"big","b":"`+big+`"}}}`).wantError(t, 413, "too_large")
	})
	t.Run("TableOption", func(t *testing.T) {
		e2 := newEnv(t, itemsapi.Table("lambda-apigateway"))
		e2.ops(t, `{"operation":"ping","tableName":"lambda-apigateway"}`).wantBody(t, 200, `"pong"`)
		e2.do("POST", "/ops", `{"operation":"ping","tableName":"items"}`).wantError(t, 400, "invalid")
	})
}

// TestOpsErrInvalid checks that every malformed or unsupported event is
// refused with the contract's 400, without the original's CORS header.
func TestOpsErrInvalid(t *testing.T) {
	crud(t)
	e := newEnv(t)
	bad := map[string]string{
		"no operation":           `{"payload":{}}`,
		"operation object":       `{"operation":{"a":1}}`,
		"operation array":        `{"operation":["ping"]}`,
		"other table":            `{"operation":"read","tableName":"users","payload":{"Key":{"id":"o1"}}}`,
		"table not a string":     `{"operation":"ping","tableName":1}`,
		"not an object":          `["ping"]`,
		"malformed":              `{"operation":"ping"`,
		"empty":                  ` `,
		"trailing":               `{"operation":"ping"} {}`,
		"create no Item":         `{"operation":"create","payload":{}}`,
		"create no id":           `{"operation":"create","payload":{"Item":{"a":1}}}`,
		"create bad id":          `{"operation":"create","payload":{"Item":{"id":"a b"}}}`,
		"create id not string":   `{"operation":"create","payload":{"Item":{"id":1}}}`,
		"create Item array":      `{"operation":"create","payload":{"Item":[]}}`,
		"create TableName":       `{"operation":"create","payload":{"Item":{"id":"x"},"TableName":"other"}}`,
		"create huge number":     `{"operation":"create","payload":{"Item":{"id":"x","n":1e200}}}`,
		"payload not object":     `{"operation":"read","payload":[1]}`,
		"payload null":           `{"operation":"delete","payload":null}`,
		"read no Key":            `{"operation":"read","payload":{}}`,
		"read Key extra":         `{"operation":"read","payload":{"Key":{"id":"a","sk":"b"}}}`,
		"read Key id number":     `{"operation":"read","payload":{"Key":{"id":1}}}`,
		"read Key string":        `{"operation":"read","payload":{"Key":"a"}}`,
		"read bad id":            `{"operation":"read","payload":{"Key":{"id":"-a"}}}`,
		"read ConsistentRead":    `{"operation":"read","payload":{"Key":{"id":"a"},"ConsistentRead":"yes"}}`,
		"update id":              `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"id":{"Value":"b"}}}}`,
		"update ADD":             `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":{"Value":1,"Action":"ADD"}}}}`,
		"update Action number":   `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":{"Value":1,"Action":1}}}}`,
		"update PUT no Value":    `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":{"Action":"PUT"}}}}`,
		"update empty name":      `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"":{"Value":1}}}}`,
		"update not object":      `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":[1]}}`,
		"update entry not obj":   `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":1}}}`,
		"update entry extra":     `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":{"Value":1,"Exists":true}}}}`,
		"update expression":      `{"operation":"update","payload":{"Key":{"id":"a"},"UpdateExpression":"SET x = :x"}}`,
		"update bad value":       `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":{"Value":1e999}}}}`,
		"delete no Key":          `{"operation":"delete","payload":{}}`,
		"delete condition":       `{"operation":"delete","payload":{"Key":{"id":"a"},"ConditionExpression":"x"}}`,
		"list Limit 0":           `{"operation":"list","payload":{"Limit":0}}`,
		"list Limit negative":    `{"operation":"list","payload":{"Limit":-1}}`,
		"list Limit fraction":    `{"operation":"list","payload":{"Limit":1.5}}`,
		"list Limit exponent":    `{"operation":"list","payload":{"Limit":1e2}}`,
		"list Limit string":      `{"operation":"list","payload":{"Limit":"2"}}`,
		"list start bad":         `{"operation":"list","payload":{"ExclusiveStartKey":{"id":""}}}`,
		"list filter":            `{"operation":"list","payload":{"FilterExpression":"x"}}`,
		"create condition value": `{"operation":"create","payload":{"Item":{"id":"x"},"ConditionExpression":"n = :n"}}`,
		"read projection empty":  `{"operation":"read","payload":{"Key":{"id":"a"},"ProjectionExpression":""}}`,
		"read ReturnValues":      `{"operation":"read","payload":{"Key":{"id":"a"},"ReturnValues":"ALL_OLD"}}`,
		"create ReturnValues":    `{"operation":"create","payload":{"Item":{"id":"x"},"ReturnValues":"ALL_NEW"}}`,
		"update both":            `{"operation":"update","payload":{"Key":{"id":"a"},"AttributeUpdates":{"n":{"Value":1}},"UpdateExpression":"SET m = :m","ExpressionAttributeValues":{":m":1}}}`,
		"capacity bad":           `{"operation":"read","payload":{"Key":{"id":"a"},"ReturnConsumedCapacity":"ALL"}}`,
		"query no key condition": `{"operation":"query","payload":{"IndexName":"name-index"}}`,
		"query other index":      `{"operation":"query","payload":{"IndexName":"price-index","KeyConditionExpression":"price = :p","ExpressionAttributeValues":{":p":1}}}`,
		"query consistent index": `{"operation":"query","payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":"x"},"ConsistentRead":true}}`,
		"query backwards":        `{"operation":"query","payload":{"KeyConditionExpression":"id = :v","ExpressionAttributeValues":{":v":"x"},"ScanIndexForward":false}}`,
		"query number name":      `{"operation":"query","payload":{"IndexName":"name-index","KeyConditionExpression":"#n = :v","ExpressionAttributeNames":{"#n":"name"},"ExpressionAttributeValues":{":v":5}}}`,
		"list Select":            `{"operation":"list","payload":{"Select":"SOME"}}`,
		"echo malformed payload": `{"operation":"echo","payload":{"a":}}`,
		"duplicate member":       `{"operation":"ping","operation":"echo"}`,
		"bad utf-8":              "{\"operation\":\"echo\",\"payload\":\"\xff\"}",
	}
	for name, event := range bad {
		t.Run("ErrInvalid/"+name, func(t *testing.T) {
			if strings.HasPrefix(name, "query ") {
				beyondCRUD(t, "the dispatcher's query")
			}
			r := e.do("POST", "/ops", event).wantError(t, 400, "invalid")
			if r.header.Get("Access-Control-Allow-Origin") != "" {
				t.Error("got Access-Control-Allow-Origin on an error")
			}
		})
	}
}

// itemPy is pyItem for an item of another tenant.
func itemPy(t *testing.T, e *env, tenant, id, attrs string) string {
	t.Helper()
	it := e.do("GET", "/items/"+id, "", tenantHeader, tenant).want(t, 200).obj(t)
	return fmt.Sprintf(`{"id": "%s", "version": %s, "createdAt": "%s", "updatedAt": "%s", %s}`, id, it["version"], it["createdAt"], it["updatedAt"], attrs)
}

func TestDispatch(t *testing.T) {
	crud(t)
	h := itemsapi.New(newStore(t))
	ctx := context.Background()
	for _, tc := range []struct {
		name, event, lambda string
	}{
		{"Direct", `{"operation": "ping"}`,
			`{"statusCode": 200, "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}, "body": "\"pong\""}`},
		{"ProxyBody", `{"resource": "/DynamoDBManager", "httpMethod": "POST", "body": "{\"operation\": \"echo\", \"payload\": {\"a\": \"\u00e9\"}}"}`,
			`{"statusCode": 200, "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}, "body": "{\"a\": \"\\u00e9\"}"}`},
		{"Unrecognized", `{"operation": "x"}`,
			`{"statusCode": 400, "body": "{\"error\": \"Unrecognized operation \\\"x\\\"\"}"}`},
		{"Invalid", `{"operation": "read", "payload": {}}`,
			`{"statusCode": 400, "headers": {"Content-Type": "application/json"}, "body": "{\"code\":\"invalid\",\"message\":\"The payload needs a Key {\\\"id\\\": \\\"...\\\"}.\"}"}`},
		{"BodyNotString", `{"body": {"operation": "ping"}}`,
			`{"statusCode": 400, "headers": {"Content-Type": "application/json"}, "body": "{\"code\":\"invalid\",\"message\":\"An event's \\\"body\\\" must be a string.\"}"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := h.Dispatch(ctx, items.DefaultTenant, []byte(tc.event))
			if got := string(res.AppendLambdaJSON(nil)); got != tc.lambda {
				t.Errorf("got\n%s\nwant\n%s", got, tc.lambda)
			}
			if res.Err != nil {
				t.Errorf("got Err %v", res.Err)
			}
		})
	}
	t.Run("Tenant", func(t *testing.T) {
		res := h.Dispatch(ctx, "t1", []byte(`{"operation":"create","payload":{"Item":{"id":"x"}}}`))
		if res.Status != 200 {
			t.Fatalf("got %d %s", res.Status, res.Body)
		}
		if res := h.Dispatch(ctx, "t2", []byte(`{"operation":"read","payload":{"Key":{"id":"x"}}}`)); string(res.Body) != "{}" {
			t.Errorf("tenant t2 reads %s", res.Body)
		}
		if res := h.Dispatch(ctx, "t1", []byte(`{"operation":"read","payload":{"Key":{"id":"x"}}}`)); !strings.HasPrefix(string(res.Body), `{"Item": {"id": "x", "version": 1, `) {
			t.Errorf("tenant t1 reads %s", res.Body)
		}
	})
}
