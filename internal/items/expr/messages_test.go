package expr_test

import (
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/items/expr"
)

// DynamoDB's own messages, for the cases where they are known from
// DynamoDB itself: its documentation, messages recorded from the service
// (in DynamoDB's own error listings, in tests that other engines run
// against DynamoDB, and in reports of what it answered), and what DynamoDB
// Local, which shares the service's expression code, answers. dynalite
// departs from most of the syntax errors' texts, so the differential test
// compares only their beginning; these check the rest.

// mustFail compiles a request for op and returns the error's message.
func mustFail(t *testing.T, op expr.Op, r *expr.Request) string {
	t.Helper()
	_, err := expr.Compile(op, r, expr.Options{Key: []string{"id"}})
	if err == nil {
		t.Fatalf("Compile succeeded, want an error")
	}
	if code := items.ErrorCode(err); code != items.EINVALID {
		t.Fatalf("error code %q, want %q", code, items.EINVALID)
	}
	return items.ErrorMessage(err)
}

func values(kv ...string) map[string][]byte {
	m := map[string][]byte{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = []byte(kv[i+1])
	}
	return m
}

func TestDynamoDBMessages(t *testing.T) {
	names := map[string]string{"#c": "c", "#d": "[3]", "#a": "a", "#b": "b"}
	cases := []struct {
		name string
		op   expr.Op
		req  expr.Request
		want string
	}{
		// Syntax errors: the offending token and the tokens either side.
		{"syntax-function-no-operand", expr.PutItem, expr.Request{ConditionExpression: s("attribute_type()")},
			`Invalid ConditionExpression: Syntax error; token: ")", near: "()"`},
		{"syntax-set-alone", expr.UpdateItem, expr.Request{UpdateExpression: s("SET")},
			`Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "SET"`},
		{"syntax-no-value", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = ")},
			`Invalid UpdateExpression: Syntax error; token: "<EOF>", near: "= "`},
		{"syntax-underscore", expr.UpdateItem, expr.Request{UpdateExpression: s("SET _123 = :val1"), ExpressionAttributeValues: values(":val1", "3")},
			`Invalid UpdateExpression: Syntax error; token: "_", near: "SET _123"`},
		{"syntax-number-operand", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = if_not_exists(b, 0)")},
			`Invalid UpdateExpression: Syntax error; token: "0", near: ", 0)"`},
		{"syntax-index-name", expr.GetItem, expr.Request{ProjectionExpression: s("l[a]")},
			`Invalid ProjectionExpression: Syntax error; token: "a", near: "[a]"`},
		{"syntax-dash", expr.Scan, expr.Request{FilterExpression: s("first-name = :v"), ExpressionAttributeValues: values(":v", `"a"`)},
			`Invalid FilterExpression: Syntax error; token: "-", near: "first-name"`},
		{"syntax-deep-open", expr.PutItem, expr.Request{ConditionExpression: s(strings.Repeat("(", 4096))},
			`Invalid ConditionExpression: Syntax error; token: "<EOF>", near: "("`},
		// Sections, paths, operands.
		{"set-twice", expr.UpdateItem, expr.Request{UpdateExpression: s("set a = #c set c = :d"), ExpressionAttributeNames: map[string]string{"#c": "c"}, ExpressionAttributeValues: values(":d", "1")},
			`Invalid UpdateExpression: The "SET" section can only be used once in an update expression;`},
		{"remove-twice", expr.UpdateItem, expr.Request{UpdateExpression: s("remove #d set a = b remove e"), ExpressionAttributeNames: map[string]string{"#d": "d"}},
			`Invalid UpdateExpression: The "REMOVE" section can only be used once in an update expression;`},
		{"overlap-same", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = :v REMOVE a"), ExpressionAttributeValues: values(":v", `"yo"`)},
			"Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a]"},
		{"overlap-nested", expr.UpdateItem, expr.Request{UpdateExpression: s("set d[1] = a, d.b = a, c[1].a = a, #c = if_not_exists(a)"), ExpressionAttributeNames: map[string]string{"#c": "c", "#d": "[3]"}},
			"Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [1], a], path two: [c]"},
		{"overlap-name-like-index", expr.UpdateItem, expr.Request{UpdateExpression: s("set #c[3].#d = a, #c[3] = a"), ExpressionAttributeNames: map[string]string{"#c": "c", "#d": "[3]"}},
			"Invalid UpdateExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3]]"},
		{"conflict-name-index", expr.UpdateItem, expr.Request{UpdateExpression: s("set #c[3].#d = a, #c.#d[3] = if_not_exists(a)"), ExpressionAttributeNames: map[string]string{"#c": "c", "#d": "[3]"}},
			"Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [c, [3], [3]], path two: [c, [3], [3]]"},
		{"conflict-remove-set", expr.UpdateItem, expr.Request{UpdateExpression: s("remove a.#c set a[1] = #d"), ExpressionAttributeNames: map[string]string{"#c": "c", "#d": "[3]"}},
			"Invalid UpdateExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, c], path two: [a, [1]]"},
		{"projection-overlap", expr.GetItem, expr.Request{ProjectionExpression: s("b[1], b.a, #a.b, a"), ExpressionAttributeNames: map[string]string{"#a": "a"}},
			"Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a, b], path two: [a]"},
		{"projection-overlap-index", expr.GetItem, expr.Request{ProjectionExpression: s("a, #a[1]"), ExpressionAttributeNames: map[string]string{"#a": "a"}},
			"Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [a, [1]]"},
		{"projection-overlap-hash-order", expr.GetItem, expr.Request{ProjectionExpression: s("a,b,a")},
			"Invalid ProjectionExpression: Two document paths overlap with each other; must remove or rewrite one of these paths; path one: [a], path two: [b]"},
		{"projection-conflict", expr.GetItem, expr.Request{ProjectionExpression: s("a.b[1], #a[1], #b"), ExpressionAttributeNames: map[string]string{"#a": "a", "#b": "[3]"}},
			"Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, b, [1]], path two: [a, [1]]"},
		{"projection-conflict-names", expr.GetItem, expr.Request{ProjectionExpression: s("a[3].b, #a.#b.b"), ExpressionAttributeNames: map[string]string{"#a": "a", "#b": "[3]"}},
			"Invalid ProjectionExpression: Two document paths conflict with each other; must remove or rewrite one of these paths; path one: [a, [3], b], path two: [a, [3], b]"},
		{"projection-too-deep", expr.GetItem, expr.Request{ProjectionExpression: s("a" + strings.Repeat(".b", 32))},
			"Invalid ProjectionExpression: The document path has too many nesting levels; nesting levels: 33"},
		{"add-string", expr.UpdateItem, expr.Request{UpdateExpression: s("ADD a :val1"), ExpressionAttributeValues: values(":val1", `"hello"`)},
			"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"},
		{"add-map", expr.UpdateItem, expr.Request{UpdateExpression: s("ADD a :v"), ExpressionAttributeValues: values(":v", `{"x":1}`)},
			"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: MAP, typeSet: ALLOWED_FOR_ADD_OPERAND"},
		{"delete-string", expr.UpdateItem, expr.Request{UpdateExpression: s("DELETE a :v"), ExpressionAttributeValues: values(":v", `"x"`)},
			"Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: STRING, typeSet: ALLOWED_FOR_DELETE_OPERAND"},
		{"plus-string", expr.UpdateItem, expr.Request{UpdateExpression: s("SET b = :val1 + :val2"), ExpressionAttributeValues: values(":val1", `"dog"`, ":val2", "3")},
			"Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: +, operand type: S"},
		{"list-append-one", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = list_append(:val1)"), ExpressionAttributeValues: values(":val1", `["a"]`)},
			"Invalid UpdateExpression: Incorrect number of operands for operator or function; operator or function: list_append, number of operands: 1"},
		{"list-append-string", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = list_append(:val1, :val2)"), ExpressionAttributeValues: values(":val1", `[4,"hello"]`, ":val2", `"hi"`)},
			"Invalid UpdateExpression: Incorrect operand type for operator or function; operator or function: list_append, operand type: S"},
		{"list-append-nested", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = list_append(list_append(:val1, :val2), :val3)"), ExpressionAttributeValues: values(":val1", `["a"]`, ":val2", `["1"]`, ":val3", `["hi"]`)},
			"Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append"},
		{"if-not-exists-path", expr.UpdateItem, expr.Request{UpdateExpression: s("SET b = if_not_exists(if_not_exists(a, :val2), :val1)"), ExpressionAttributeValues: values(":val1", "6", ":val2", "3")},
			"Invalid UpdateExpression: Operator or function requires a document path; operator or function: if_not_exists"},
		{"if-not-exists-undefined-value-first", expr.UpdateItem, expr.Request{UpdateExpression: s("SET b = if_not_exists(:val2, :val1)"), ExpressionAttributeValues: values(":val1", "6")},
			"Invalid UpdateExpression: An expression attribute value used in expression is not defined; attribute value: :val2"},
		{"unknown-function", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = f(b,c,d)")},
			"Invalid UpdateExpression: Invalid function name; function: f"},
		{"unused-value", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = :val1"), ExpressionAttributeValues: values(":val1", "3", ":val2", "4")},
			"Value provided in ExpressionAttributeValues unused in expressions: keys: {:val2}"},
		{"unused-name", expr.UpdateItem, expr.Request{UpdateExpression: s("SET #a = :val1"), ExpressionAttributeNames: map[string]string{"#a": "hello", "#b": "hi"}, ExpressionAttributeValues: values(":val1", "3")},
			"Value provided in ExpressionAttributeNames unused in expressions: keys: {#b}"},
		// Conditions: the order of the checks, functions, operands.
		{"redundant-nested", expr.Scan, expr.Request{FilterExpression: s("(a)between(((b.c)).d)and(c)")},
			"Invalid FilterExpression: The expression has redundant parentheses;"},
		{"redundant-in-args", expr.Scan, expr.Request{FilterExpression: s("a > whatever((:things), ((a)))")},
			"Invalid FilterExpression: The expression has redundant parentheses;"},
		{"redundant-deep", expr.PutItem, expr.Request{ConditionExpression: s(strings.Repeat("(", 2046) + "a<b" + strings.Repeat(")", 2046))},
			"Invalid ConditionExpression: The expression has redundant parentheses;"},
		{"function-case", expr.Scan, expr.Request{FilterExpression: s("attRIbute_exIsts((views), #a)")},
			"Invalid FilterExpression: Invalid function name; function: attRIbute_exIsts"},
		{"function-before-reserved", expr.PutItem, expr.Request{ConditionExpression: s("a < " + strings.Repeat("f(", 1355) + "b" + strings.Repeat(")", 1355))},
			"Invalid ConditionExpression: Invalid function name; function: f"},
		{"size-of-size", expr.PutItem, expr.Request{ConditionExpression: s("a < " + strings.Repeat("size(", 680) + "b" + strings.Repeat(")", 680))},
			"Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: size, operand type: N"},
		{"function-misused", expr.Scan, expr.Request{FilterExpression: s("a between b and attribute_exists(things)")},
			"Invalid FilterExpression: The function is not allowed to be used this way in an expression; function: attribute_exists"},
		{"reserved", expr.Scan, expr.Request{FilterExpression: s(":a < abOrT"), ExpressionAttributeValues: values(":a", "1")},
			"Invalid FilterExpression: Attribute name is a reserved keyword; reserved keyword: abOrT"},
		{"name-undefined", expr.Scan, expr.Request{FilterExpression: s("#4g > a")},
			"Invalid FilterExpression: An expression attribute name used in the document path is not defined; attribute name: #4g"},
		{"value-undefined", expr.Scan, expr.Request{FilterExpression: s(":_ > a")},
			"Invalid FilterExpression: An expression attribute value used in expression is not defined; attribute value: :_"},
		{"operands", expr.Scan, expr.Request{FilterExpression: s("begins_with(things, size(a), b)")},
			"Invalid FilterExpression: Incorrect number of operands for operator or function; operator or function: begins_with, number of operands: 3"},
		{"distinct", expr.Scan, expr.Request{FilterExpression: s("a = a AND #a = b AND :views > a"), ExpressionAttributeNames: map[string]string{"#a": "a"}, ExpressionAttributeValues: values(":views", "1")},
			"Invalid FilterExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: =, first operand: [a]"},
		{"distinct-nested", expr.Scan, expr.Request{FilterExpression: s("contains(ab.bc[1].a, ab.bc[1].#a)"), ExpressionAttributeNames: map[string]string{"#a": "a"}},
			"Invalid FilterExpression: The first operand must be distinct from the remaining operands for this operator or function; operator: contains, first operand: [ab, bc, [1], a]"},
		{"between-types", expr.Query, expr.Request{KeyConditionExpression: s("a between :b and :a"), ExpressionAttributeValues: values(":a", `"a"`, ":b", "1")},
			"Invalid KeyConditionExpression: The BETWEEN operator requires same data type for lower and upper bounds; lower bound operand: AttributeValue: {N:1}, upper bound operand: AttributeValue: {S:a}"},
		{"between-order", expr.Query, expr.Request{KeyConditionExpression: s("a between :b and :a"), ExpressionAttributeValues: values(":a", `"a"`, ":b", `"b"`)},
			"Invalid KeyConditionExpression: The BETWEEN operator requires upper bound to be greater than or equal to lower bound; lower bound operand: AttributeValue: {S:b}, upper bound operand: AttributeValue: {S:a}"},
		{"too-many-operators", expr.PutItem, expr.Request{ConditionExpression: s("a<b " + strings.Repeat("or (a<b ", 454) + strings.Repeat(")", 454))},
			"Invalid ConditionExpression: The expression contains too many operators; operator count: 301"},
		{"too-many-nots", expr.PutItem, expr.Request{ConditionExpression: s(strings.Repeat("not ", 1000) + "a<b")},
			"Invalid ConditionExpression: The expression contains too many operators; operator count: 301"},
		{"too-long-condition", expr.PutItem, expr.Request{ConditionExpression: s("a " + strings.Repeat(" ", 4085) + " = :oldval"), ExpressionAttributeValues: values(":oldval", "2")},
			"Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 4097"},
		{"too-long-update", expr.UpdateItem, expr.Request{UpdateExpression: s("SET " + strings.Repeat(" ", 4085) + "a = :val"), ExpressionAttributeValues: values(":val", "1")},
			"Invalid UpdateExpression: Expression size has exceeded the maximum allowed size;"},
		{"too-long-projection", expr.GetItem, expr.Request{ProjectionExpression: s(strings.Repeat("x", 4097))},
			"Invalid ProjectionExpression: Expression size has exceeded the maximum allowed size;"},
		{"too-long-before-syntax", expr.PutItem, expr.Request{ConditionExpression: s(strings.Repeat("(", 15000))},
			"Invalid ConditionExpression: Expression size has exceeded the maximum allowed size; expression size: 15000"},
		// Key conditions.
		{"key-or", expr.Query, expr.Request{KeyConditionExpression: s("a > b and size(b) > c or a > c")},
			"Invalid operator used in KeyConditionExpression: OR"},
		{"key-first-operand", expr.Query, expr.Request{KeyConditionExpression: s("begins_with(:a, b) and a > :b"), ExpressionAttributeValues: values(":a", `"1"`, ":b", `"1"`)},
			"Invalid condition in KeyConditionExpression: begins_with operator must have the key attribute as its first operand"},
		{"key-nested-operation", expr.Query, expr.Request{KeyConditionExpression: s("a > size(b.d)")},
			"KeyConditionExpressions cannot contain nested operations"},
		{"key-two-names", expr.Query, expr.Request{KeyConditionExpression: s("b > a.b")},
			"Invalid condition in KeyConditionExpression: Multiple attribute names used in one condition"},
		{"key-nested", expr.Query, expr.Request{KeyConditionExpression: s("b[0] > a")},
			"KeyConditionExpressions cannot have conditions on nested attributes"},
		{"key-nested-path", expr.Query, expr.Request{KeyConditionExpression: s("a.d > :c"), ExpressionAttributeValues: values(":c", "1")},
			"KeyConditionExpressions cannot have conditions on nested attributes"},
		{"key-no-name", expr.Query, expr.Request{KeyConditionExpression: s(":b > :a AND a < :b"), ExpressionAttributeValues: values(":a", "1", ":b", "1")},
			"Invalid condition in KeyConditionExpression: No key attribute specified"},
		{"key-twice", expr.Query, expr.Request{KeyConditionExpression: s("b > :a AND b < :a and c = :a and d = :a"), ExpressionAttributeValues: values(":a", "1")},
			"KeyConditionExpressions must only contain one condition per key"},
		// The maps.
		{"names-empty", expr.UpdateItem, expr.Request{UpdateExpression: s(""), ConditionExpression: s(""), ExpressionAttributeNames: map[string]string{}, ExpressionAttributeValues: map[string][]byte{}},
			"ExpressionAttributeNames must not be empty"},
		{"names-key", expr.UpdateItem, expr.Request{UpdateExpression: s(""), ExpressionAttributeNames: map[string]string{"a": "a"}},
			`ExpressionAttributeNames contains invalid key: Syntax error; key: "a"`},
		{"values-empty", expr.UpdateItem, expr.Request{UpdateExpression: s(""), ExpressionAttributeValues: map[string][]byte{}},
			"ExpressionAttributeValues must not be empty"},
		{"values-key", expr.UpdateItem, expr.Request{UpdateExpression: s(""), ExpressionAttributeValues: values(":b", "1", "b", `"a"`)},
			`ExpressionAttributeValues contains invalid key: Syntax error; key: "b"`},
		{"empty-update", expr.UpdateItem, expr.Request{UpdateExpression: s(""), ConditionExpression: s("")},
			"Invalid UpdateExpression: The expression can not be empty;"},
		{"empty-condition", expr.DeleteItem, expr.Request{ConditionExpression: s("")},
			"Invalid ConditionExpression: The expression can not be empty;"},
		{"values-without-expression", expr.Query, expr.Request{ProjectionExpression: s("a"), ExpressionAttributeValues: values(":a", "1")},
			"ExpressionAttributeValues can only be specified when using expressions: FilterExpression and KeyConditionExpression are null"},
		{"names-without-expression", expr.GetItem, expr.Request{ExpressionAttributeNames: names},
			"ExpressionAttributeNames can only be specified when using expressions"},
		{"mixed", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = :v"), ExpressionAttributeValues: values(":v", "1"), Legacy: []string{"AttributeUpdates"}},
			"Can not use both expression and non-expression parameters in the same request: Non-expression parameters: {AttributeUpdates} Expression parameters: {UpdateExpression}"},
		{"value-number-overflow", expr.PutItem, expr.Request{ConditionExpression: s("a = :v"), ExpressionAttributeValues: values(":v", "1e126")},
			"ExpressionAttributeValues contains invalid value: Number overflow. Attempting to store a number with magnitude larger than supported range for key :v"},
		{"value-number-precision", expr.PutItem, expr.Request{ConditionExpression: s("a = :v"), ExpressionAttributeValues: values(":v", "1234567890123456789012345678901234567891")},
			"ExpressionAttributeValues contains invalid value: Attempting to store more than 38 significant digits in a Number for key :v"},
		{"update-too-large", expr.UpdateItem, expr.Request{UpdateExpression: s("SET a = :big"), ExpressionAttributeValues: values(":big", `"`+strings.Repeat("x", 409600)+`"`)},
			"Item size to update has exceeded the maximum allowed size"},
		{"values-too-large", expr.PutItem, expr.Request{ConditionExpression: s("a = :a OR a = :b OR a = :c"),
			ExpressionAttributeValues: values(":a", `"`+strings.Repeat("x", 1<<20)+`"`, ":b", `"`+strings.Repeat("y", 1<<20)+`"`, ":c", "1")},
			"ExpressionAttributeValues exceeds max size"},
		{"tree-too-large", expr.PutItem, expr.Request{ConditionExpression: s("a = :a OR b = :a OR c = :a OR d = :a"), ExpressionAttributeValues: values(":a", `"`+strings.Repeat("x", 300000)+`"`)},
			"Invalid ConditionExpression: Expression size has exceeded the maximum allowed size;"},
		{"name-key-too-long", expr.PutItem, expr.Request{ConditionExpression: s("a = b"), ExpressionAttributeNames: map[string]string{"#" + strings.Repeat("n", 255): "x"}},
			"ExpressionAttributeNames contains invalid key: The expression attribute map contains a key that is too long; size of key: 256"},
		{"value-key-too-long", expr.PutItem, expr.Request{ConditionExpression: s("a = b"), ExpressionAttributeValues: values(":"+strings.Repeat("v", 255), "1")},
			"ExpressionAttributeValues contains invalid key: The expression attribute map contains a key that is too long;"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := mustFail(t, c.op, &c.req); got != c.want {
				t.Errorf("\ngot  %s\nwant %s", got, c.want)
			}
		})
	}
}

func TestLimitsAccepted(t *testing.T) {
	ok := []struct {
		name string
		op   expr.Op
		req  expr.Request
	}{
		{"condition-4096", expr.PutItem, expr.Request{ConditionExpression: s("a" + strings.Repeat(" ", 4085) + " = :oldval"), ExpressionAttributeValues: values(":oldval", "2")}},
		{"update-4096", expr.UpdateItem, expr.Request{UpdateExpression: s("SET" + strings.Repeat(" ", 4085) + "a = :val"), ExpressionAttributeValues: values(":val", "1")}},
		{"projection-4096", expr.GetItem, expr.Request{ProjectionExpression: s(strings.Repeat("x", 4096))}},
		{"operators-299", expr.PutItem, expr.Request{ConditionExpression: s("a<b " + strings.Repeat("or (a<b ", 149) + strings.Repeat(")", 149))}},
		{"depth-32", expr.GetItem, expr.Request{ProjectionExpression: s("a" + strings.Repeat(".b", 31))}},
		{"in-100", expr.Scan, expr.Request{FilterExpression: s("a IN (" + strings.Repeat(":v,", 99) + ":v)"), ExpressionAttributeValues: values(":v", "1")}},
		{"names-any-character", expr.UpdateItem, expr.Request{UpdateExpression: s("SET #123a = :123"), ExpressionAttributeNames: map[string]string{"#123a": "3can include any character!.#="}, ExpressionAttributeValues: values(":123", "1")}},
	}
	for _, c := range ok {
		t.Run(c.name, func(t *testing.T) {
			if _, err := expr.Compile(c.op, &c.req, expr.Options{}); err != nil {
				t.Fatalf("Compile: %v", err)
			}
		})
	}
}
