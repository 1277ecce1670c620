package expr_test

import (
	"fmt"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
)

// Evaluation without an engine: DynamoDB's semantics, stated case by case
// (the differential test checks them against dynalite where node is
// installed).

const doc = `{"id":"i1","n":10,"s":"hello","l":[1,"a",[2],{"k":true},null],"m":{"x":1.5,"y":{"z":"deep"}},"b":false,"nil":null,"big":99999999999999999999999999999999999999}`

func compile(t *testing.T, op expr.Op, r *expr.Request) *expr.Expressions {
	t.Helper()
	ex, err := expr.Compile(op, r, expr.Options{Key: []string{"id"}})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return ex
}

func canon(t *testing.T, s string) items.Attributes {
	t.Helper()
	a, err := items.Canonicalize([]byte(s))
	if err != nil {
		t.Fatalf("%s: %v", s, err)
	}
	return a
}

func TestConditionSemantics(t *testing.T) {
	item := canon(t, doc)
	cases := []struct {
		cond   string
		values map[string][]byte
		want   bool
	}{
		{"n = :v", values(":v", "10.0"), true},
		{"n = :v", values(":v", "1e1"), true},
		{"n = :v", values(":v", `"10"`), false},
		{"n <> :v", values(":v", `"10"`), true},
		{"nope <> :v", values(":v", "1"), true},
		{"nope = :v", values(":v", "null"), false},
		{"nil = :v", values(":v", "null"), true},
		{"n < :v", values(":v", "10.000001"), true},
		{"n > :v", values(":v", "-11"), true},
		{"s < :v", values(":v", `"hellp"`), true},
		{"s > :v", values(":v", `"Hello"`), true},
		{"n < :v", values(":v", `"a"`), false},
		{"big > :v", values(":v", "99999999999999999999999999999999999998"), true},
		{"n BETWEEN :a AND :b", values(":a", "10", ":b", "10"), true},
		{"s BETWEEN :a AND :b", values(":a", `"a"`, ":b", `"z"`), true},
		{"n BETWEEN :a AND :b", values(":a", `"a"`, ":b", `"z"`), false},
		{"n IN (:a, :b)", values(":a", `"10"`, ":b", "10"), true},
		{"l[3] = :v", values(":v", `{"k":true}`), true},
		{"l[2] IN (:v)", values(":v", "[2]"), true},
		{"m = :v", values(":v", `{"y":{"z":"deep"},"x":1.50}`), true},
		{"contains(l, :v)", values(":v", `{"k":true}`), true},
		{"contains(l, :v)", values(":v", "null"), true},
		{"contains(l, :v)", values(":v", `"A"`), false},
		{"contains(s, :v)", values(":v", `"ell"`), true},
		{"contains(m, :v)", values(":v", `"x"`), false},
		{"begins_with(s, :v)", values(":v", `"he"`), true},
		{"begins_with(s, :v)", values(":v", `""`), true},
		{"begins_with(l, :v)", values(":v", `"a"`), false},
		{"size(s) = :v", values(":v", "5"), true},
		{"size(l) = :v", values(":v", "5"), true},
		{"size(m.y) = :v", values(":v", "1"), true},
		{"size(n) = :v", values(":v", "2"), false},
		{"size(nope) <> :v", values(":v", "2"), true},
		{"attribute_type(b, :t)", values(":t", `"BOOL"`), true},
		{"attribute_type(nil, :t)", values(":t", `"NULL"`), true},
		{"attribute_type(l, :t)", values(":t", `"SS"`), false},
		{"attribute_exists(m.y.z) AND attribute_not_exists(m.y.w)", nil, true},
		{"attribute_exists(l[4])", nil, true},
		{"attribute_exists(l[5])", nil, false},
		{"attribute_exists(s.x)", nil, false},
		{"attribute_exists(s[0])", nil, false},
		{"NOT n = :v OR s = :w", values(":v", "10", ":w", `"hello"`), true},
		{"NOT (n = :v OR s = :w)", values(":v", "10", ":w", `"hello"`), false},
		{"n = :v OR n = :w AND s = :x", values(":v", "10", ":w", "0", ":x", `"no"`), true},
		{"(n = :v OR n = :w) AND s = :x", values(":v", "10", ":w", "0", ":x", `"no"`), false},
		{"m.x > n", nil, false},
		{"n > m.x", nil, true},
	}
	for _, c := range cases {
		t.Run(c.cond, func(t *testing.T) {
			r := &expr.Request{ConditionExpression: s(c.cond)}
			if len(c.values) > 0 {
				r.ExpressionAttributeValues = c.values
			}
			ex := compile(t, expr.PutItem, r)
			if got := ex.Condition.Match(item); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
			err := ex.Condition.Check(item)
			if c.want != (err == nil) || !c.want && !expr.IsConditionalCheckFailed(err) {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

func TestConditionOnAbsentItem(t *testing.T) {
	ex := compile(t, expr.PutItem, &expr.Request{ConditionExpression: s("attribute_not_exists(id)")})
	if !ex.Condition.Match(nil) {
		t.Error("attribute_not_exists(id) should hold for an absent item")
	}
	ex = compile(t, expr.PutItem, &expr.Request{ConditionExpression: s("attribute_exists(id)")})
	if err := ex.Condition.Check(nil); !expr.IsConditionalCheckFailed(err) {
		t.Errorf("Check on an absent item: %v, want ErrConditionalCheckFailed", err)
	}
	if code := items.ErrorCode(expr.ErrConditionalCheckFailed); code != items.EPRECONDITION {
		t.Errorf("code %q, want %q", code, items.EPRECONDITION)
	}
}

func TestUpdateSemantics(t *testing.T) {
	key := canon(t, `{"id":"i1"}`)
	cases := []struct {
		name, update string
		values       map[string][]byte
		old          string // "" for no item
		rv           expr.ReturnValues
		item, attrs  string
		err          string
	}{
		{name: "set-arith", update: "SET n = n + :v, c = :w - n", values: values(":v", "0.5", ":w", "1"),
			item: `{"c":-9,"id":"i1","n":10.5}`, old: `{"id":"i1","n":10}`},
		{name: "precision-kept", update: "SET n = n + :v", values: values(":v", "0.00000000000000000001"), old: `{"id":"i1","n":12345678901234567}`,
			item: `{"id":"i1","n":12345678901234567.00000000000000000001}`},
		{name: "too-precise", update: "SET n = n + :v", values: values(":v", "0.000000000000000000001"), old: `{"id":"i1","n":12345678901234567890}`,
			err: "Attempting to store more than 38 significant digits in a Number"},
		{name: "underflow", update: "SET n = :v - :w", values: values(":v", "2e-130", ":w", "1.99e-130"),
			err: "Number underflow. Attempting to store a number with magnitude smaller than supported range"},
		{name: "list-ops", update: "REMOVE l[0], l[2] SET l[1] = :v, l[9] = :w, l[7] = :x", values: values(":v", `"B"`, ":w", "9", ":x", "7"),
			old: `{"id":"i1","l":[0,1,2,3]}`, item: `{"id":"i1","l":["B",3,7,9]}`},
		{name: "updated-new-list", update: "REMOVE l[0] SET l[2] = :v", values: values(":v", "0"), rv: expr.ReturnUpdatedNew,
			old: `{"id":"i1","l":[0,1,2,3]}`, item: `{"id":"i1","l":[1,0,3]}`, attrs: `{"l":[1,3]}`},
		{name: "updated-old-nested", update: "SET m.y.z = :v REMOVE m.x", values: values(":v", "1"), rv: expr.ReturnUpdatedOld,
			old: `{"id":"i1","m":{"x":1,"y":{"z":2,"q":3}}}`, item: `{"id":"i1","m":{"y":{"q":3,"z":1}}}`, attrs: `{"m":{"x":1,"y":{"z":2}}}`},
		{name: "all-old-absent", update: "SET a = :v", values: values(":v", "1"), rv: expr.ReturnAllOld, item: `{"a":1,"id":"i1"}`},
		{name: "all-new", update: "ADD n :v", values: values(":v", "1"), rv: expr.ReturnAllNew, item: `{"id":"i1","n":1}`, attrs: `{"id":"i1","n":1}`},
		{name: "if-not-exists", update: "SET a = if_not_exists(a, :v), b = if_not_exists(b, :w)", values: values(":v", "1", ":w", "2"),
			old: `{"id":"i1","a":"kept"}`, item: `{"a":"kept","b":2,"id":"i1"}`},
		{name: "append-to-absent", update: "SET l = list_append(if_not_exists(l, :e), :v)", values: values(":e", "[]", ":v", `[{"x":1}]`),
			item: `{"id":"i1","l":[{"x":1}]}`},
		{name: "remove-nested-absent-item", update: "REMOVE a.b[1]", item: `{"id":"i1"}`},
		{name: "err-remove-nested-missing", update: "REMOVE a.b", old: `{"id":"i1"}`,
			err: "The document path provided in the update expression is invalid for update"},
		{name: "err-key", update: "SET id = :v", values: values(":v", `"x"`),
			err: "One or more parameter values were invalid: Cannot update attribute id. This attribute is part of the key"},
		{name: "err-key-nested-value", update: "SET a = id.x", old: `{"id":"i1"}`,
			err: "Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: id"},
		{name: "err-missing-operand", update: "SET a = b + :v", values: values(":v", "1"), old: `{"id":"i1"}`,
			err: "The provided expression refers to an attribute that does not exist in the item"},
		{name: "err-wrong-type", update: "SET a = list_append(b, :v)", values: values(":v", "[1]"), old: `{"id":"i1","b":"x"}`,
			err: "An operand in the update expression has an incorrect data type"},
		{name: "err-too-deep", update: "SET a.b = :v", values: values(":v", deepList(31)), old: `{"id":"i1","a":{}}`,
			err: "Nesting Levels have exceeded supported limits"},
		{name: "deep-enough", update: "SET a.b = :v", values: values(":v", deepList(30)), old: `{"id":"i1","a":{}}`,
			item: `{"a":{"b":` + deepList(30) + `},"id":"i1"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &expr.Request{UpdateExpression: s(c.update)}
			if len(c.values) > 0 {
				r.ExpressionAttributeValues = c.values
			}
			ex := compile(t, expr.UpdateItem, r)
			var old items.Attributes
			if c.old != "" {
				old = canon(t, c.old)
			}
			up, err := ex.Update.Apply(old, key, c.rv)
			if c.err != "" {
				if msg := items.ErrorMessage(err); msg != c.err || items.ErrorCode(err) != items.EINVALID {
					t.Fatalf("got error %v, want %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			if got, want := up.Item.String(), canon(t, c.item).String(); got != want {
				t.Errorf("item %s, want %s", got, want)
			}
			if got := string(up.Attributes); got != c.attrs {
				t.Errorf("attributes %s, want %s", got, c.attrs)
			}
		})
	}
}

// deepList returns n lists nested in each other.
func deepList(n int) string {
	out := ""
	for range n {
		out += "["
	}
	for range n {
		out += "]"
	}
	return out
}

func TestProjectionSemantics(t *testing.T) {
	item := canon(t, doc)
	cases := []struct{ proj, want string }{
		{"s, n", `{"n":10,"s":"hello"}`},
		{"m.y.z, l[3].k, l[1]", `{"l":["a",{"k":true}],"m":{"y":{"z":"deep"}}}`},
		{"l[4]", `{"l":[null]}`},
		{"nope, m.nope, s.x, l[9]", `{}`},
		{"m", `{"m":{"x":1.5,"y":{"z":"deep"}}}`},
	}
	for _, c := range cases {
		t.Run(c.proj, func(t *testing.T) {
			ex := compile(t, expr.GetItem, &expr.Request{ProjectionExpression: s(c.proj)})
			if got := ex.Projection.Apply(item).String(); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

func TestKeyCondition(t *testing.T) {
	schema := expr.KeySchema{Partition: "pk", PartitionType: "S", Sort: "sk", SortType: "S"}
	ex, err := expr.Compile(expr.Query, &expr.Request{
		KeyConditionExpression:    s("#p = :p AND begins_with(#s, :s)"),
		ExpressionAttributeNames:  map[string]string{"#p": "pk", "#s": "sk"},
		ExpressionAttributeValues: values(":p", `"tenant"`, ":s", `"2024-"`),
	}, expr.Options{KeySchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	kc := ex.KeyCondition
	if kc.Partition != "pk" || string(kc.Value) != `"tenant"` || kc.Sort == nil || kc.Sort.Op != "begins_with" || string(kc.Sort.Values[0]) != `"2024-"` {
		t.Fatalf("key condition %+v, sort %+v", kc, kc.Sort)
	}
	for doc, want := range map[string]bool{
		`{"pk":"tenant","sk":"2024-05"}`: true,
		`{"pk":"tenant","sk":"2025-05"}`: false,
		`{"pk":"other","sk":"2024-05"}`:  false,
		`{"pk":"tenant"}`:                false,
	} {
		if got := kc.Match(canon(t, doc)); got != want {
			t.Errorf("%s: got %v, want %v", doc, got, want)
		}
	}
	// The reversed comparison is the same condition.
	ex, err = expr.Compile(expr.Query, &expr.Request{KeyConditionExpression: s("pk = :p AND :v > sk"), ExpressionAttributeValues: values(":p", `"a"`, ":v", `"m"`)},
		expr.Options{KeySchema: schema})
	if err != nil {
		t.Fatal(err)
	}
	if op := ex.KeyCondition.Sort.Op; op != "<" {
		t.Errorf("sort op %q, want <", op)
	}
	_, err = expr.Compile(expr.Query, &expr.Request{KeyConditionExpression: s("sk = :s"), ExpressionAttributeValues: values(":s", `"a"`)}, expr.Options{KeySchema: schema})
	if msg := items.ErrorMessage(err); msg != "Query condition missed key schema element: pk" {
		t.Errorf("got %q", msg)
	}
}

func TestParseReturnValues(t *testing.T) {
	if rv, err := expr.ParseReturnValues(expr.UpdateItem, "UPDATED_NEW"); err != nil || rv != expr.ReturnUpdatedNew {
		t.Errorf("UPDATED_NEW: %v %v", rv, err)
	}
	if _, err := expr.ParseReturnValues(expr.PutItem, "ALL_NEW"); items.ErrorMessage(err) != "ReturnValues can only be ALL_OLD or NONE" {
		t.Errorf("PutItem ALL_NEW: %v", err)
	}
	want := "1 validation error detected: Value 'X' at 'returnValues' failed to satisfy constraint: Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]"
	if _, err := expr.ParseReturnValues(expr.UpdateItem, "X"); items.ErrorMessage(err) != want {
		t.Errorf("X: %v", err)
	}
}

func TestParseRequest(t *testing.T) {
	payload := `{"Key":{"id":"a"},"UpdateExpression":"SET #n = :v, o = :w","ConditionExpression":"attribute_exists(id)",
		"ExpressionAttributeNames": { "#n" : "name" } ,"ExpressionAttributeValues":{":w": {"b": [1, 2.50]}, ":v": "x"}}`
	r, err := expr.ParseRequest([]byte(payload))
	if err != nil {
		t.Fatal(err)
	}
	if *r.UpdateExpression != "SET #n = :v, o = :w" || *r.ConditionExpression != "attribute_exists(id)" || r.ProjectionExpression != nil {
		t.Fatalf("expressions %+v", r)
	}
	if r.ExpressionAttributeNames["#n"] != "name" || string(r.ExpressionAttributeValues[":w"]) != `{"b":[1,2.50]}` {
		t.Fatalf("maps %v %q", r.ExpressionAttributeNames, r.ExpressionAttributeValues)
	}
	ex := compile(t, expr.UpdateItem, r)
	up, err := ex.Update.Apply(nil, canon(t, `{"id":"a"}`), expr.ReturnNone)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := up.Item.String(), `{"id":"a","name":"x","o":{"b":[1,2.5]}}`; got != want {
		t.Errorf("item %s, want %s", got, want)
	}
	// Unused keys are named in DynamoDB's order, not the payload's.
	r, err = expr.ParseRequest([]byte(`{"ConditionExpression":"a = :a","ExpressionAttributeValues":{":c":1,":a":1,":b":2}}`))
	if err != nil {
		t.Fatal(err)
	}
	if msg := mustFail(t, expr.PutItem, r); msg != "Value provided in ExpressionAttributeValues unused in expressions: keys: {:b, :c}" {
		t.Errorf("got %q", msg)
	}
	for _, bad := range []string{`[]`, `{"UpdateExpression":1}`, `{"ExpressionAttributeNames":{"#a":1}}`, `{"ExpressionAttributeValues":[1]}`, `{"a":`} {
		if _, err := expr.ParseRequest([]byte(bad)); items.ErrorCode(err) != items.EINVALID {
			t.Errorf("%s: %v, want an invalid error", bad, err)
		}
	}
}

// TestConcurrentUse compiles and evaluates from several goroutines at once
// (run with -race): compiled expressions and the parse cache are shared.
func TestConcurrentUse(t *testing.T) {
	item := canon(t, doc)
	key := canon(t, `{"id":"i1"}`)
	done := make(chan error, 8)
	for g := range 8 {
		go func() {
			var err error
			for i := range 200 {
				r := &expr.Request{
					ConditionExpression:       s(fmt.Sprintf("n < :v%d", i%20)),
					UpdateExpression:          s("SET n = n + :one, l[1] = :one REMOVE m.x"),
					ExpressionAttributeValues: values(fmt.Sprintf(":v%d", i%20), "100", ":one", "1"),
				}
				var ex *expr.Expressions
				if ex, err = expr.Compile(expr.UpdateItem, r, expr.Options{Key: []string{"id"}}); err != nil {
					break
				}
				if err = ex.Condition.Check(item); err != nil {
					break
				}
				var up *expr.Updated
				if up, err = ex.Update.Apply(item, key, expr.ReturnUpdatedNew); err != nil {
					break
				}
				if want := `{"l":[1],"n":11}`; string(up.Attributes) != want {
					err = fmt.Errorf("goroutine %d: attributes %s, want %s", g, up.Attributes, want)
					break
				}
			}
			done <- err
		}()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}
