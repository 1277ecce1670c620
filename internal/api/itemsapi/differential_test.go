package itemsapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// The differential test of the dispatcher: each case is a dispatcher
// event (an operation and a boto3-style payload) sent to the dispatcher
// over SQLite, and the same request sent to dynalite's DynamoDB API; the
// outcomes (a ValidationException's message, a failed condition, what
// the answer returns, the item afterwards) must be the same. The items of
// the dispatcher carry version and timestamps besides; they are left out
// of the comparison, and no case names them.

// dcase is one case: an item to start from (without id; "" for none) and
// an event's operation and payload, whose Key and Item use the case's id.
type dcase struct {
	name    string
	item    string
	op      string
	payload string
}

// departure is where dynalite departs from DynamoDB, by case: how, and
// DynamoDB's ValidationException, which the dispatcher must give (and
// dynalite must still not: a fixed dynalite makes the note wrong).
type departure struct{ how, wantErr string }

var departures = map[string]departure{
	"update add list": {"dynalite's message lacks the typeSet",
		"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: LIST, typeSet: ALLOWED_FOR_ADD_OPERAND"},
	"update delete list": {"dynalite's message lacks the typeSet",
		"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: LIST, typeSet: ALLOWED_FOR_DELETE_OPERAND"},
	"delete ReturnValues ALL_NEW": {"dynalite takes it and deletes the item", "ReturnValues can only be ALL_OLD or NONE"},
}

// doutcome is what a request did.
type doutcome struct {
	Err    string // a ValidationException's message (400 invalid)
	Failed bool   // ConditionalCheckFailedException (412)
	Answer string // the Attributes, Item or Items returned, canonical JSON without server-managed attributes
	Count  string // a scan's Count/ScannedCount/LastEvaluatedKey
	Item   string // the item afterwards
}

// syntaxPrefix: dynalite's syntax errors say what its parser expected,
// DynamoDB's (and the dispatcher's, package expr's) the token and what is
// near it (package expr checks those against DynamoDB's own texts); the
// comparison stops after the prefix.
const syntaxPrefix = "Syntax error; "

func (o doutcome) comparable() doutcome {
	if i := strings.Index(o.Err, syntaxPrefix); i >= 0 {
		o.Err = o.Err[:i+len(syntaxPrefix)]
	}
	return o
}

var differentialCases = []dcase{
	// create: PutItem.
	{"put new", "", "create", `{"Item":{"id":"$ID","n":1,"s":"x"}}`},
	{"put replaces", `{"n":1}`, "create", `{"Item":{"id":"$ID","m":2},"ReturnValues":"ALL_OLD"}`},
	{"put if absent, absent", "", "create", `{"Item":{"id":"$ID","n":1},"ConditionExpression":"attribute_not_exists(id)"}`},
	{"put if absent, present", `{"n":1}`, "create", `{"Item":{"id":"$ID","n":2},"ConditionExpression":"attribute_not_exists(id)"}`},
	{"put if version", `{"ver":3}`, "create", `{"Item":{"id":"$ID","ver":4},"ConditionExpression":"ver = :v","ExpressionAttributeValues":{":v":3},"ReturnValues":"ALL_OLD"}`},
	{"put if version, stale", `{"ver":3}`, "create", `{"Item":{"id":"$ID","ver":4},"ConditionExpression":"ver = :v","ExpressionAttributeValues":{":v":2}}`},
	{"put ReturnValues ALL_NEW", "", "create", `{"Item":{"id":"$ID"},"ReturnValues":"ALL_NEW"}`},
	{"put unused value", "", "create", `{"Item":{"id":"$ID"},"ConditionExpression":"attribute_not_exists(id)","ExpressionAttributeValues":{":x":1}}`},
	{"put values without expression", "", "create", `{"Item":{"id":"$ID"},"ExpressionAttributeValues":{":x":1}}`},
	{"put syntax error", "", "create", `{"Item":{"id":"$ID"},"ConditionExpression":"a = = b"}`},
	// read: GetItem.
	{"get", `{"a":{"b":[1,2,3],"c":"x"},"d":4}`, "read", `{"Key":{"id":"$ID"},"ConsistentRead":true}`},
	{"get projected", `{"a":{"b":[1,2,3],"c":"x"},"d":4,"e":true}`, "read", `{"Key":{"id":"$ID"},"ConsistentRead":true,"ProjectionExpression":"a.b[2], #e, nothere","ExpressionAttributeNames":{"#e":"e"}}`},
	{"get missing", "", "read", `{"Key":{"id":"$ID"},"ConsistentRead":true}`},
	{"get unused name", `{"a":1}`, "read", `{"Key":{"id":"$ID"},"ProjectionExpression":"a","ExpressionAttributeNames":{"#x":"x"}}`},
	{"get reserved word", `{"name":"x"}`, "read", `{"Key":{"id":"$ID"},"ProjectionExpression":"name"}`},
	// update: UpdateItem.
	{"update arithmetic", `{"price":12.5,"qty":3}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET price = price - :off, qty = qty + :one","ExpressionAttributeValues":{":off":2.5,":one":1},"ReturnValues":"ALL_NEW"}`},
	{"update if_not_exists", `{"a":1}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET a = if_not_exists(a, :z), b = if_not_exists(b, :z)","ExpressionAttributeValues":{":z":0},"ReturnValues":"UPDATED_NEW"}`},
	{"update list_append", `{"tags":["a"]}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET tags = list_append(tags, :t), more = list_append(:t, if_not_exists(more, :e))","ExpressionAttributeValues":{":t":["b","c"],":e":[]},"ReturnValues":"ALL_NEW"}`},
	{"update remove", `{"a":1,"b":[1,2,3],"c":{"d":1,"e":2}}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"REMOVE a, b[1], c.d","ReturnValues":"UPDATED_OLD"}`},
	{"update add number", `{"n":5}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"ADD n :two, fresh :two","ExpressionAttributeValues":{":two":2},"ReturnValues":"ALL_NEW"}`},
	{"update add list", `{"l":[1]}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"ADD l :x","ExpressionAttributeValues":{":x":[2]}}`},
	{"update delete list", `{"l":[1]}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"DELETE l :x","ExpressionAttributeValues":{":x":[1]}}`},
	{"update nested", `{"m":{"a":{"b":1}}}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET m.a.c = :v, m.x = :v","ExpressionAttributeValues":{":v":"new"},"ReturnValues":"UPDATED_NEW"}`},
	{"update creates", "", "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET n = :n","ExpressionAttributeValues":{":n":1},"ReturnValues":"ALL_OLD"}`},
	{"update with condition", `{"n":1,"state":"open"}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET #s = :closed","ConditionExpression":"#s = :open AND n BETWEEN :lo AND :hi","ExpressionAttributeNames":{"#s":"state"},"ExpressionAttributeValues":{":open":"open",":closed":"closed",":lo":0,":hi":5},"ReturnValues":"ALL_NEW"}`},
	{"update condition fails", `{"n":1}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET n = :n","ConditionExpression":"n > :n","ExpressionAttributeValues":{":n":1}}`},
	{"update conditions on functions", `{"s":"hello","l":[1,2],"m":{"k":1}}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET ok = :t","ConditionExpression":"begins_with(s, :h) AND contains(l, :two) AND size(l) = :two AND attribute_type(m, :M) AND NOT attribute_exists(zz) AND s IN (:h, :hello)","ExpressionAttributeValues":{":t":true,":h":"he",":two":2,":M":"M",":hello":"hello"},"ReturnValues":"UPDATED_NEW"}`},
	{"update the key", `{"n":1}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET id = :v","ExpressionAttributeValues":{":v":"x"}}`},
	{"update missing operand", `{"n":1}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET n = missing + :one","ExpressionAttributeValues":{":one":1}}`},
	{"update wrong type", `{"s":"x"}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET s = s + :one","ExpressionAttributeValues":{":one":1}}`},
	{"update overlapping paths", `{"a":{"b":1}}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET a = :v, a.b = :v","ExpressionAttributeValues":{":v":1}}`},
	{"update undefined value", `{"n":1}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET n = :nope"}`},
	{"update both forms", `{"n":1}`, "update", `{"Key":{"id":"$ID"},"AttributeUpdates":{"n":{"Value":2}},"UpdateExpression":"SET m = :m","ExpressionAttributeValues":{":m":1}}`},
	{"update ReturnValues bad", `{"n":1}`, "update", `{"Key":{"id":"$ID"},"UpdateExpression":"SET n = :n","ExpressionAttributeValues":{":n":2},"ReturnValues":"EVERYTHING"}`},
	// delete: DeleteItem.
	{"delete", `{"n":1}`, "delete", `{"Key":{"id":"$ID"},"ReturnValues":"ALL_OLD"}`},
	{"delete with condition", `{"n":1}`, "delete", `{"Key":{"id":"$ID"},"ConditionExpression":"n = :one","ExpressionAttributeValues":{":one":1},"ReturnValues":"ALL_OLD"}`},
	{"delete condition fails", `{"n":1}`, "delete", `{"Key":{"id":"$ID"},"ConditionExpression":"n <> :one","ExpressionAttributeValues":{":one":1}}`},
	{"delete missing with condition", "", "delete", `{"Key":{"id":"$ID"},"ConditionExpression":"attribute_exists(id)"}`},
	{"delete ReturnValues ALL_NEW", `{"n":1}`, "delete", `{"Key":{"id":"$ID"},"ReturnValues":"ALL_NEW"}`},
}

// scanItems fill the table of the scan cases: ids s00 to s11.
func scanItems() map[string]string {
	m := map[string]string{}
	for i := range 12 {
		m[fmt.Sprintf("s%02d", i)] = fmt.Sprintf(`{"n":%d,"kind":%q,"tags":["t%d"]}`, i, []string{"a", "b", "c"}[i%3], i%2)
	}
	return m
}

var scanCases = []dcase{
	{"scan all", "", "list", `{"ConsistentRead":true}`},
	{"scan filtered", "", "list", `{"ConsistentRead":true,"FilterExpression":"n >= :five AND kind <> :b","ExpressionAttributeValues":{":five":5,":b":"b"}}`},
	{"scan limited and filtered", "", "list", `{"ConsistentRead":true,"Limit":4,"FilterExpression":"contains(tags, :t)","ExpressionAttributeValues":{":t":"t1"}}`},
	{"scan page after", "", "list", `{"ConsistentRead":true,"Limit":3,"ExclusiveStartKey":{"id":"s04"}}`},
	{"scan last page", "", "list", `{"ConsistentRead":true,"Limit":5,"ExclusiveStartKey":{"id":"s08"}}`},
	{"scan projected", "", "list", `{"ConsistentRead":true,"Limit":2,"ProjectionExpression":"id, tags[0]"}`},
	{"scan count", "", "list", `{"ConsistentRead":true,"Select":"COUNT","FilterExpression":"kind = :a","ExpressionAttributeValues":{":a":"a"}}`},
	{"scan bad filter", "", "list", `{"FilterExpression":"n >"}`},
}

// differential is the two sides: the dispatcher over SQLite and a
// dynalite table keyed by id; the scans, of a tenant's items on the
// dispatcher's side, are DynamoDB Queries of a partition of a table keyed
// by tenant and id (a Scan's order would be dynalite's hash's).
type differential struct {
	e      *env
	client *dynamodb.Client
	table  string
	scans  string // keyed by tenant and id
}

func newDifferential(t *testing.T) *differential {
	t.Helper()
	sq, err := sqlite.Open(filepath.Join(t.TempDir(), "items.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sq.Close() })
	d := &differential{e: newEnvWith(t, sq), client: dynalitetest.NewClient(dynalitetest.Start(t))}
	d.table = d.createTable(t, "id")
	d.scans = d.createTable(t, "tenant", "id")
	return d
}

// createTable creates a table keyed by the string attributes keys (hash,
// then range).
func (d *differential) createTable(t *testing.T, keys ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := dynalitetest.TableName()
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
	for i, k := range keys {
		kt := types.KeyTypeHash
		if i > 0 {
			kt = types.KeyTypeRange
		}
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(k), KeyType: kt})
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(k), AttributeType: types.ScalarAttributeTypeS})
	}
	if _, err := d.client.CreateTable(ctx, in); err != nil {
		t.Fatalf("create table: %v", err)
	}
	w := dynamodb.NewTableExistsWaiter(d.client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		d.client.DeleteTable(context.Background(), &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// avOf converts a JSON object to DynamoDB's attribute values.
func avOf(t *testing.T, js string) map[string]types.AttributeValue {
	t.Helper()
	a, err := items.Canonicalize([]byte(js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	m, err := dynamo.AttributesToAV(a)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return m.Value
}

// plain returns a JSON object, canonical, without the server-managed
// attributes but id.
func plain(t *testing.T, js []byte) string {
	t.Helper()
	b, err := items.ParseBody(js)
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	attrs, _ := b.Attrs.Map()
	if b.HasID {
		attrs["id"] = b.ID
	}
	out, _ := json.Marshal(attrs)
	c, _ := items.Canonicalize(out)
	return c.String()
}

func plainAV(t *testing.T, m map[string]types.AttributeValue) string {
	t.Helper()
	delete(m, "tenant") // the scans' partition key, which the dispatcher's items do not show
	a, err := dynamo.AVToAttributes(m)
	if err != nil {
		t.Fatal(err)
	}
	return plain(t, a)
}

// payload is a case's payload, its $ID the id, decoded.
type payload struct {
	Item                      json.RawMessage
	ConditionExpression       *string
	UpdateExpression          *string
	ProjectionExpression      *string
	FilterExpression          *string
	ExpressionAttributeNames  map[string]string
	ExpressionAttributeValues json.RawMessage
	AttributeUpdates          json.RawMessage
	ReturnValues              string
	ConsistentRead            bool
	Limit                     int32
	ExclusiveStartKey         map[string]string
	Select                    string
}

// theirs sends the case to dynalite.
func (d *differential) theirs(t *testing.T, c dcase, id string) doutcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var p payload
	if err := json.Unmarshal([]byte(strings.ReplaceAll(c.payload, "$ID", id)), &p); err != nil {
		t.Fatalf("%s: %v", c.payload, err)
	}
	var vals map[string]types.AttributeValue
	if p.ExpressionAttributeValues != nil {
		vals = avOf(t, string(p.ExpressionAttributeValues))
	}
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
	var o doutcome
	var attrs map[string]types.AttributeValue
	var err error
	switch c.op {
	case "create":
		var out *dynamodb.PutItemOutput
		out, err = d.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &d.table, Item: avOf(t, string(p.Item)),
			ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: vals,
			ReturnValues: types.ReturnValue(p.ReturnValues)})
		if err == nil {
			attrs = out.Attributes
		}
	case "read":
		var out *dynamodb.GetItemOutput
		out, err = d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: key, ConsistentRead: aws.Bool(p.ConsistentRead),
			ProjectionExpression: p.ProjectionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames})
		if err == nil {
			attrs = out.Item
		}
	case "update":
		in := &dynamodb.UpdateItemInput{TableName: &d.table, Key: key, UpdateExpression: p.UpdateExpression,
			ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: vals,
			ReturnValues: types.ReturnValue(p.ReturnValues)}
		if p.AttributeUpdates != nil {
			in.AttributeUpdates = map[string]types.AttributeValueUpdate{}
			for name, v := range avOf(t, `{"v":`+string(p.AttributeUpdates)+`}`)["v"].(*types.AttributeValueMemberM).Value {
				in.AttributeUpdates[name] = types.AttributeValueUpdate{Value: v.(*types.AttributeValueMemberM).Value["Value"], Action: types.AttributeActionPut}
			}
		}
		var out *dynamodb.UpdateItemOutput
		out, err = d.client.UpdateItem(ctx, in)
		if err == nil {
			attrs = out.Attributes
		}
	case "delete":
		var out *dynamodb.DeleteItemOutput
		out, err = d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &d.table, Key: key,
			ConditionExpression: p.ConditionExpression, ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: vals,
			ReturnValues: types.ReturnValue(p.ReturnValues)})
		if err == nil {
			attrs = out.Attributes
		}
	case "list":
		tenant := &types.AttributeValueMemberS{Value: "scans"}
		names := map[string]string{"#tk": "tenant"}
		for k, v := range p.ExpressionAttributeNames {
			names[k] = v
		}
		if vals == nil {
			vals = map[string]types.AttributeValue{}
		}
		vals[":tv"] = tenant
		in := &dynamodb.QueryInput{TableName: &d.scans, KeyConditionExpression: aws.String("#tk = :tv"),
			ConsistentRead: aws.Bool(p.ConsistentRead), FilterExpression: p.FilterExpression,
			ProjectionExpression: p.ProjectionExpression, ExpressionAttributeNames: names, ExpressionAttributeValues: vals,
			Select: types.Select(p.Select)}
		if p.Limit > 0 {
			in.Limit = aws.Int32(p.Limit)
		}
		if p.ExclusiveStartKey != nil {
			in.ExclusiveStartKey = map[string]types.AttributeValue{"tenant": tenant, "id": &types.AttributeValueMemberS{Value: p.ExclusiveStartKey["id"]}}
		}
		var out *dynamodb.QueryOutput
		if out, err = d.client.Query(ctx, in); err == nil {
			var docs []string
			for _, it := range out.Items {
				docs = append(docs, plainAV(t, it))
			}
			o.Answer = strings.Join(docs, "\n")
			o.Count = fmt.Sprintf("%d of %d, last %v", out.Count, out.ScannedCount, out.LastEvaluatedKey["id"] != nil)
		}
	}
	if err != nil {
		var ce *types.ConditionalCheckFailedException
		var ae smithy.APIError
		switch {
		case errors.As(err, &ce):
			o.Failed = true
		case errors.As(err, &ae) && ae.ErrorCode() == "ValidationException":
			o.Err = ae.ErrorMessage()
		default:
			t.Fatalf("%s: %v", c.name, err)
		}
	} else if len(attrs) > 0 {
		o.Answer = plainAV(t, attrs)
	}
	if c.op != "read" && c.op != "list" {
		got, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &d.table, Key: key, ConsistentRead: aws.Bool(true)})
		if err != nil {
			t.Fatal(err)
		}
		if got.Item != nil {
			o.Item = plainAV(t, got.Item)
		}
	}
	return o
}

// ours sends the case to the dispatcher.
func (d *differential) ours(t *testing.T, c dcase, id, tenant string) doutcome {
	t.Helper()
	event := `{"operation":"` + c.op + `","payload":` + strings.ReplaceAll(c.payload, "$ID", id) + `}`
	r := d.e.do("POST", "/ops", event, tenantHeader, tenant)
	var o doutcome
	switch r.status {
	case 200:
		var ans struct {
			Attributes, Item json.RawMessage
			Items            []json.RawMessage
			Count            int
			ScannedCount     int
			LastEvaluatedKey json.RawMessage
		}
		if err := json.Unmarshal(r.body, &ans); err != nil {
			t.Fatalf("%s: %s: %v", c.name, r.body, err)
		}
		switch {
		case c.op == "list":
			var docs []string
			for _, it := range ans.Items {
				docs = append(docs, plain(t, it))
			}
			slices.Sort(docs)
			o.Answer = strings.Join(docs, "\n")
			o.Count = fmt.Sprintf("%d of %d, last %v", ans.Count, ans.ScannedCount, ans.LastEvaluatedKey != nil)
		case ans.Attributes != nil:
			o.Answer = plain(t, ans.Attributes)
		case ans.Item != nil:
			o.Answer = plain(t, ans.Item)
		}
	case 400:
		o.Err = r.message(t)
	case 412:
		o.Failed = true
	default:
		t.Fatalf("%s: got %d %s", c.name, r.status, r.body)
	}
	if c.op != "read" && c.op != "list" {
		if g := d.e.do("GET", "/items/"+id, "", tenantHeader, tenant); g.status == 200 {
			o.Item = plain(t, g.body)
		}
	}
	return o
}

// put puts a case's starting item on both sides (a scan's in the scans'
// table, in the tenant's partition).
func (d *differential) put(t *testing.T, id, tenant, item string) {
	t.Helper()
	withID := `{"id":"` + id + `"`
	if rest := strings.TrimSpace(item)[1:]; strings.TrimSpace(rest) != "}" {
		withID += ","
	}
	withID += strings.TrimSpace(item)[1:]
	d.e.do("POST", "/ops", `{"operation":"create","payload":{"Item":`+withID+`}}`, tenantHeader, tenant).want(t, 200)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	table, av := d.table, avOf(t, withID)
	if tenant == "scans" {
		table = d.scans
		av["tenant"] = &types.AttributeValueMemberS{Value: tenant}
	}
	if _, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &table, Item: av}); err != nil {
		t.Fatal(err)
	}
}

func TestOpsDifferential(t *testing.T) {
	d := newDifferential(t)
	for i, c := range differentialCases {
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("case%02d", i)
			if c.item != "" {
				d.put(t, id, "diff", c.item)
			}
			ours, theirs := d.ours(t, c, id, "diff").comparable(), d.theirs(t, c, id).comparable()
			if dep, ok := departures[c.name]; ok {
				if ours.Err != dep.wantErr {
					t.Errorf("%s\n dispatcher: %+v\n want DynamoDB's %q (%s)", c.payload, ours, dep.wantErr, dep.how)
				}
				if theirs.Err == dep.wantErr {
					t.Errorf("dynalite now answers as DynamoDB: the case's departure (%s) is out of date", dep.how)
				}
				return
			}
			if ours != theirs {
				t.Errorf("%s\n dispatcher: %+v\n DynamoDB (dynalite): %+v", c.payload, ours, theirs)
			}
		})
	}
	// The scans, of a tenant of their own.
	for id, item := range scanItems() {
		d.put(t, id, "scans", item)
	}
	for _, c := range scanCases {
		t.Run(c.name, func(t *testing.T) {
			ours, theirs := d.ours(t, c, "", "scans").comparable(), d.theirs(t, c, "").comparable()
			if ours != theirs {
				t.Errorf("%s\n dispatcher: %+v\n DynamoDB (dynalite): %+v", c.payload, ours, theirs)
			}
		})
	}
}
