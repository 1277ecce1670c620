package expr_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// The differential test: every case is sent to dynalite's DynamoDB API
// with the AWS SDK and evaluated with the package, and the two outcomes
// (the error's message, the condition's result, the item written, what
// ReturnValues returns, the items a read returns) must be the same.
// Where dynalite departs from DynamoDB, the case says how, and gives
// DynamoDB's outcome, which the package must give (and dynalite must
// still not: a fixed dynalite makes the note wrong).

func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

// outcome is what one request does.
type outcome struct {
	Err    string // the ValidationException's message
	Failed bool   // ConditionalCheckFailedException
	Item   string // the item after the request (canonical JSON), "" for none
	Attrs  string // ReturnValues' attributes, GetItem's item, a read's items
}

func (o outcome) String() string {
	switch {
	case o.Err != "":
		return "error " + o.Err + " (item " + o.Item + ")"
	case o.Failed:
		return "conditional check failed (item " + o.Item + ")"
	}
	return fmt.Sprintf("item %s, attributes %s", o.Item, o.Attrs)
}

// syntaxPrefix is where dynalite's syntax errors stop agreeing with
// DynamoDB's: dynalite reports what its PEG parser expected, DynamoDB the
// offending token and what is near it (checked against DynamoDB's own
// texts in parse_test.go).
const syntaxPrefix = "Syntax error; "

// comparable returns o with a syntax error's message cut after its
// prefix.
func (o outcome) comparable() outcome {
	if i := strings.Index(o.Err, syntaxPrefix); i >= 0 {
		o.Err = o.Err[:i+len(syntaxPrefix)]
	}
	return o
}

// matches reports whether got is the outcome w describes: the same error,
// condition result and attributes, and, when w gives one, the same item
// (without its id).
func (w *outcome) matches(t *testing.T, got outcome) bool {
	t.Helper()
	g, want := got.comparable(), w.comparable()
	if want.Item != "" {
		g.Item = withoutID(t, g.Item)
	} else {
		g.Item = ""
	}
	return g == want
}

// withoutID returns an item's JSON without its id.
func withoutID(t *testing.T, doc string) string {
	t.Helper()
	if doc == "" {
		return ""
	}
	b, err := items.ParseBody([]byte(doc))
	if err != nil {
		t.Fatalf("%s: %v", doc, err)
	}
	return b.Attrs.String()
}

// dcase is one differential case on an item keyed by id.
type dcase struct {
	name   string
	op     string // put, update, delete, get
	item   string // the item before the request (attributes, without id); "" for none
	put    string // put: the new item's attributes
	cond   *string
	upd    *string
	proj   *string
	names  map[string]string
	values string // a JSON object; "" for none
	rv     string
	// departure, when dynalite departs from DynamoDB, says how; want is
	// then DynamoDB's outcome.
	departure string
	want      *outcome
}

// env is the engine the differential tests run against.
type env struct {
	client *dynamodb.Client
	table  string // hash key id (S)
}

func newEnv(t *testing.T) *env {
	t.Helper()
	client := dynalitetest.NewClient(dynalitetest.Start(t))
	e := &env{client: client, table: createTable(t, client, []string{"id", "S"})}
	return e
}

// createTable creates a table whose key is the name and type pairs given
// (hash, then range) and deletes it when t ends.
func createTable(t *testing.T, client *dynamodb.Client, key ...[]string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name := dynalitetest.TableName()
	in := &dynamodb.CreateTableInput{TableName: aws.String(name), BillingMode: types.BillingModePayPerRequest}
	for i, k := range key {
		kt := types.KeyTypeHash
		if i > 0 {
			kt = types.KeyTypeRange
		}
		in.KeySchema = append(in.KeySchema, types.KeySchemaElement{AttributeName: aws.String(k[0]), KeyType: kt})
		in.AttributeDefinitions = append(in.AttributeDefinitions, types.AttributeDefinition{AttributeName: aws.String(k[0]), AttributeType: types.ScalarAttributeType(k[1])})
	}
	if _, err := client.CreateTable(ctx, in); err != nil {
		t.Fatalf("create table: %v", err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(o *dynamodb.TableExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 200*time.Millisecond
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(name)}, time.Minute); err != nil {
		t.Fatalf("wait for table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(name)})
	})
	return name
}

// withID returns the item's attributes with "id" added, canonical.
func withID(t *testing.T, attrs, id string) items.Attributes {
	t.Helper()
	doc := `{"id":` + quote(id)
	if a := strings.TrimSpace(attrs); a != "{}" {
		doc += "," + a[1:]
	} else {
		doc += "}"
	}
	c, err := items.Canonicalize([]byte(doc))
	if err != nil {
		t.Fatalf("item %s: %v", doc, err)
	}
	return c
}

func quote(s string) string {
	b, _ := jsontext.AppendQuote(nil, s)
	return string(b)
}

// request builds the package's request of a case.
func (c dcase) request(t *testing.T) *expr.Request {
	t.Helper()
	r := &expr.Request{ConditionExpression: c.cond, UpdateExpression: c.upd, ProjectionExpression: c.proj, ExpressionAttributeNames: c.names}
	if c.values != "" {
		r.ExpressionAttributeValues = map[string][]byte{}
		d := jsontext.NewDecoder(strings.NewReader(c.values))
		d.ReadToken()
		for d.PeekKind() != '}' {
			k, err := d.ReadToken()
			if err != nil {
				t.Fatalf("values %s: %v", c.values, err)
			}
			name := k.String()
			v, err := d.ReadValue()
			if err != nil {
				t.Fatalf("values %s: %v", c.values, err)
			}
			r.ExpressionAttributeValues[name] = bytes.Clone(v)
		}
	}
	return r
}

var ops = map[string]expr.Op{"put": expr.PutItem, "update": expr.UpdateItem, "delete": expr.DeleteItem, "get": expr.GetItem}

// ours runs a case with the package, as the dispatcher would.
func ours(t *testing.T, c dcase, id string) outcome {
	t.Helper()
	op := ops[c.op]
	var old items.Attributes
	if c.item != "" {
		old = withID(t, c.item, id)
	}
	o := outcome{Item: string(old)}
	if c.op == "get" {
		o.Item = ""
	}
	rv, err := expr.ParseReturnValues(op, c.rv)
	if err != nil {
		return outcome{Err: items.ErrorMessage(err), Item: o.Item}
	}
	ex, err := expr.Compile(op, c.request(t), expr.Options{Key: []string{"id"}})
	if err != nil {
		if code := items.ErrorCode(err); code != items.EINVALID {
			t.Fatalf("Compile: error code %q, want %q", code, items.EINVALID)
		}
		return outcome{Err: items.ErrorMessage(err), Item: o.Item}
	}
	if err := ex.Condition.Check(old); err != nil {
		if !expr.IsConditionalCheckFailed(err) {
			t.Fatalf("Check: %v", err)
		}
		return outcome{Failed: true, Item: o.Item}
	}
	switch c.op {
	case "put":
		o.Item = string(withID(t, c.put, id))
		if rv == expr.ReturnAllOld {
			o.Attrs = string(old)
		}
	case "delete":
		o.Item = ""
		if rv == expr.ReturnAllOld {
			o.Attrs = string(old)
		}
	case "update":
		up, err := ex.Update.Apply(old, withID(t, "{}", id), rv)
		if err != nil {
			return outcome{Err: items.ErrorMessage(err), Item: o.Item}
		}
		o.Item, o.Attrs = string(up.Item), string(up.Attributes)
	case "get":
		if old != nil {
			o.Attrs = string(ex.Projection.Apply(old))
		}
	}
	return o
}

// theirs runs a case against the engine.
func (e *env) theirs(t *testing.T, c dcase, id string) outcome {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	key := map[string]types.AttributeValue{"id": &types.AttributeValueMemberS{Value: id}}
	if c.item != "" {
		if _, err := e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.table, Item: avMap(t, withID(t, c.item, id))}); err != nil {
			t.Fatalf("put the case's item: %v", err)
		}
	}
	names := c.names
	vals := avValues(t, c.values)
	var o outcome
	var attrs map[string]types.AttributeValue
	var err error
	switch c.op {
	case "put":
		var out *dynamodb.PutItemOutput
		out, err = e.client.PutItem(ctx, &dynamodb.PutItemInput{TableName: &e.table, Item: avMap(t, withID(t, c.put, id)),
			ConditionExpression: c.cond, ExpressionAttributeNames: names, ExpressionAttributeValues: vals, ReturnValues: types.ReturnValue(c.rv)})
		if err == nil {
			attrs = out.Attributes
		}
	case "delete":
		var out *dynamodb.DeleteItemOutput
		out, err = e.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: &e.table, Key: key,
			ConditionExpression: c.cond, ExpressionAttributeNames: names, ExpressionAttributeValues: vals, ReturnValues: types.ReturnValue(c.rv)})
		if err == nil {
			attrs = out.Attributes
		}
	case "update":
		var out *dynamodb.UpdateItemOutput
		out, err = e.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: &e.table, Key: key, UpdateExpression: c.upd,
			ConditionExpression: c.cond, ExpressionAttributeNames: names, ExpressionAttributeValues: vals, ReturnValues: types.ReturnValue(c.rv)})
		if err == nil {
			attrs = out.Attributes
		}
	case "get":
		var out *dynamodb.GetItemOutput
		out, err = e.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.table, Key: key, ConsistentRead: aws.Bool(true),
			ProjectionExpression: c.proj, ExpressionAttributeNames: names})
		if err == nil && out.Item != nil {
			o.Attrs = string(jsonOf(t, out.Item))
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
			t.Fatalf("%s: %v", c.op, err)
		}
	} else if len(attrs) > 0 {
		o.Attrs = string(jsonOf(t, attrs))
	}
	if c.op != "get" {
		got, gerr := e.client.GetItem(ctx, &dynamodb.GetItemInput{TableName: &e.table, Key: key, ConsistentRead: aws.Bool(true)})
		if gerr != nil {
			t.Fatalf("read back: %v", gerr)
		}
		if got.Item != nil {
			o.Item = string(jsonOf(t, got.Item))
		}
	}
	return o
}

// run runs the cases on both sides and compares them.
func (e *env) run(t *testing.T, cases []dcase) {
	t.Helper()
	seen := map[string]bool{}
	for i, c := range cases {
		if seen[c.name] {
			t.Fatalf("two cases named %q", c.name)
		}
		seen[c.name] = true
		t.Run(c.name, func(t *testing.T) {
			id := fmt.Sprintf("case-%d", i)
			got := ours(t, c, id)
			if wantErr := strings.HasPrefix(c.name, "err-"); wantErr != (got.Err != "") {
				t.Fatalf("the case's name says error %v, the package says %s", wantErr, got)
			}
			them := e.theirs(t, c, id)
			if c.departure == "" {
				if g, w := got.comparable(), them.comparable(); g != w {
					t.Errorf("\npackage: %s\ndynalite: %s", g, w)
				}
				return
			}
			if c.want == nil {
				t.Fatal("a departure needs DynamoDB's outcome")
			}
			if !c.want.matches(t, got) {
				t.Errorf("package: %s\nwant (DynamoDB): %s", got, c.want)
			}
			if c.want.matches(t, them) {
				t.Errorf("dynalite now does what DynamoDB does (%s): the departure %q is gone", them, c.departure)
			}
		})
	}
}

// avMap converts a JSON object to DynamoDB attribute values.
func avMap(t *testing.T, doc []byte) map[string]types.AttributeValue {
	t.Helper()
	av, ok := toAV(t, doc).(*types.AttributeValueMemberM)
	if !ok {
		t.Fatalf("%s is not an object", doc)
	}
	return av.Value
}

func avValues(t *testing.T, values string) map[string]types.AttributeValue {
	t.Helper()
	if values == "" {
		return nil
	}
	return avMap(t, []byte(values))
}

// toAV converts JSON to an attribute value: strings S, numbers N (their
// text, exactly), booleans BOOL, null NULL, arrays L, objects M.
func toAV(t *testing.T, raw []byte) types.AttributeValue {
	t.Helper()
	d := jsontext.NewDecoder(bytes.NewReader(raw))
	av, err := readAV(d)
	if err != nil {
		t.Fatalf("%s: %v", raw, err)
	}
	return av
}

func readAV(d *jsontext.Decoder) (types.AttributeValue, error) {
	switch d.PeekKind() {
	case '{':
		d.ReadToken()
		m := map[string]types.AttributeValue{}
		for d.PeekKind() != '}' {
			k, err := d.ReadToken()
			if err != nil {
				return nil, err
			}
			name := k.String()
			v, err := readAV(d)
			if err != nil {
				return nil, err
			}
			m[name] = v
		}
		d.ReadToken()
		return &types.AttributeValueMemberM{Value: m}, nil
	case '[':
		d.ReadToken()
		l := []types.AttributeValue{}
		for d.PeekKind() != ']' {
			v, err := readAV(d)
			if err != nil {
				return nil, err
			}
			l = append(l, v)
		}
		d.ReadToken()
		return &types.AttributeValueMemberL{Value: l}, nil
	}
	tok, err := d.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '"':
		return &types.AttributeValueMemberS{Value: tok.String()}, nil
	case '0':
		return &types.AttributeValueMemberN{Value: tok.String()}, nil
	case 't', 'f':
		return &types.AttributeValueMemberBOOL{Value: tok.Bool()}, nil
	}
	return &types.AttributeValueMemberNULL{Value: true}, nil
}

// jsonOf converts attribute values back to canonical JSON.
func jsonOf(t *testing.T, m map[string]types.AttributeValue) []byte {
	t.Helper()
	var b []byte
	b = appendAV(b, &types.AttributeValueMemberM{Value: m})
	c, err := items.Canonicalize(b)
	if err != nil {
		return b // a number beyond an item's range: dynalite keeps what DynamoDB refuses
	}
	return c
}

func appendAV(b []byte, av types.AttributeValue) []byte {
	switch v := av.(type) {
	case *types.AttributeValueMemberS:
		b, _ = jsontext.AppendQuote(b, v.Value)
	case *types.AttributeValueMemberN:
		b = append(b, v.Value...)
	case *types.AttributeValueMemberBOOL:
		b = fmt.Append(b, v.Value)
	case *types.AttributeValueMemberNULL:
		b = append(b, "null"...)
	case *types.AttributeValueMemberL:
		b = append(b, '[')
		for i, e := range v.Value {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendAV(b, e)
		}
		b = append(b, ']')
	case *types.AttributeValueMemberM:
		keys := make([]string, 0, len(v.Value))
		for k := range v.Value {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b, _ = jsontext.AppendQuote(b, k)
			b = append(b, ':')
			b = appendAV(b, v.Value[k])
		}
		b = append(b, '}')
	default:
		b = fmt.Appendf(b, `"unsupported %T"`, av)
	}
	return b
}

// sortedJSON returns JSON texts as a JSON list, sorted.
func sortedJSON(docs []string) string {
	slices.Sort(docs)
	return "[" + strings.Join(docs, ",") + "]"
}

// s returns a pointer to an expression.
func s(x string) *string { return &x }
