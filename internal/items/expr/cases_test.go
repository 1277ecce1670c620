package expr_test

import "testing"

// The item most condition cases test against.
const catalog = `{"title":"Bicycle 101","u":"h\u00e9llo","emoji":"\ud83d\ude00","price":500,"ratio":1.10,"neg":-3,"zero":0,"big":12345678901234567890,` +
	`"tags":["red","blue",7,true,null,{"k":"v"},[1,2]],"blank":"","flag":true,"nothing":null,` +
	`"pictures":{"front":"f.jpg","side":"s.jpg","sizes":[10,20,30]},"brand":"Mountain A","dash-name":"d","e":[],"m":{}}`

// departs marks a case where dynalite departs from DynamoDB: why says how,
// and want is DynamoDB's outcome.
func departs(c dcase, why string, want outcome) dcase {
	c.departure, c.want = why, &want
	return c
}

// Departures found by the differential tests.
const (
	dynaliteNoOperandTypes = "dynalite does not check the types of literal operands of <, <=, >, >= and BETWEEN (DynamoDB: ORDERED_TYPES) and evaluates them to false"
	dynaliteFunctionKinds  = "dynalite calls an update function in a condition (and a condition function in an update) an invalid function name; DynamoDB says it is not allowed there"
	dynaliteEmptyName      = "dynalite takes an empty ExpressionAttributeNames value for an undefined name; DynamoDB refuses it as an empty attribute name"
	dynaliteTypeOrder      = "dynalite lists attribute_type's valid types in another order than DynamoDB's {N,BS,L,B,NULL,M,S,SS,NS,BOOL}"
	dynaliteKeywords       = "dynalite's grammar takes SET, REMOVE, ADD and DELETE (in conditions) and AND, OR, NOT, IN, BETWEEN (in updates) for names, DynamoDB's lexer for keywords: a syntax error, not a reserved word"
	dynaliteUnderscore     = "dynalite lets a name start with '_'; DynamoDB's lexer does not (a syntax error, token \"_\")"
)

// cond is a conditional put of {"new":true} on the catalog item.
func cond(name, c, values string) dcase {
	return dcase{name: name, op: "put", item: catalog, put: `{"new":true}`, cond: s(c), values: values}
}

// condN is cond with names.
func condN(name, c string, names map[string]string, values string) dcase {
	d := cond(name, c, values)
	d.names = names
	return d
}

func TestDifferentialConditions(t *testing.T) {
	e := newEnv(t)
	e.run(t, conditionCases)
}

var conditionCases = []dcase{
	cond("eq-string", "title = :v", `{":v":"Bicycle 101"}`),
	cond("eq-string-false", "title = :v", `{":v":"Bicycle 102"}`),
	cond("eq-number-normalized", "ratio = :v", `{":v":1.1}`),
	cond("eq-number-exponent", "price = :v", `{":v":5e2}`),
	cond("eq-big", "big = :v", `{":v":12345678901234567890}`),
	cond("eq-type-mismatch", "price = :v", `{":v":"500"}`),
	cond("ne-absent", "absent <> :v", `{":v":1}`),
	cond("lt-number", "price < :v", `{":v":501}`),
	cond("lt-negative", "neg < :v", `{":v":-2.5}`),
	cond("le-equal", "price <= :v", `{":v":500}`),
	cond("gt-string", "title > :v", `{":v":"Bicycle 100"}`),
	cond("ge-string-prefix", "title >= :v", `{":v":"Bicycle"}`),
	cond("lt-mixed-types", "price < :v", `{":v":"zzz"}`),
	cond("between-in", "price BETWEEN :a AND :b", `{":a":100,":b":500}`),
	cond("between-out", "price between :a and :b", `{":a":501,":b":600}`),
	cond("in-yes", "brand IN (:a, :b, :c)", `{":a":"x",":b":"Mountain A",":c":1}`),
	cond("in-no", "brand IN (:a)", `{":a":"x"}`),
	cond("exists", "attribute_exists(title)", ""),
	cond("exists-missing", "attribute_exists(nope)", ""),
	cond("not-exists", "attribute_not_exists(nope)", ""),
	cond("exists-nested", "attribute_exists(pictures.front)", ""),
	cond("exists-list-index", "attribute_exists(tags[6][1])", ""),
	cond("exists-list-past-end", "attribute_exists(tags[7])", ""),
	cond("type-s", "attribute_type(title, :t)", `{":t":"S"}`),
	cond("type-n", "attribute_type(price, :t)", `{":t":"N"}`),
	cond("type-null", "attribute_type(nothing, :t)", `{":t":"NULL"}`),
	cond("type-l", "attribute_type(tags, :t)", `{":t":"L"}`),
	cond("type-wrong", "attribute_type(tags, :t)", `{":t":"M"}`),
	cond("begins-with", "begins_with(title, :p)", `{":p":"Bicy"}`),
	cond("begins-with-number", "begins_with(price, :p)", `{":p":"5"}`),
	cond("contains-substring", "contains(title, :p)", `{":p":"cle 1"}`),
	cond("contains-list-string", "contains(tags, :p)", `{":p":"blue"}`),
	cond("contains-list-number", "contains(tags, :p)", `{":p":7}`),
	cond("size-string", "size(title) = :n", `{":n":11}`),
	cond("size-list", "size(tags) > :n", `{":n":6}`),
	cond("size-map", "size(pictures) = :n", `{":n":3}`),
	cond("size-number", "size(price) = :n", `{":n":3}`),
	cond("size-missing-ne", "size(nope) <> :n", `{":n":3}`),
	cond("and-or-precedence", "price = :a OR price = :b AND title = :c", `{":a":500,":b":1,":c":"x"}`),
	cond("parens", "(price = :a OR price = :b) AND title = :c", `{":a":500,":b":1,":c":"x"}`),
	cond("not", "NOT price = :a", `{":a":500}`),
	cond("not-and", "NOT price = :a AND title = :t", `{":a":1,":t":"Bicycle 101"}`),
	condN("names", "#p = :v AND #d = :d", map[string]string{"#p": "price", "#d": "dash-name"}, `{":v":500,":d":"d"}`),
	condN("name-with-dot", "attribute_exists(#f)", map[string]string{"#f": "pictures.front"}, ""),
	cond("eq-bool", "flag = :t", `{":t":true}`),
	cond("eq-null", "nothing = :n", `{":n":null}`),
	cond("eq-empty-string", "blank = :e", `{":e":""}`),
	cond("compare-paths", "price > neg", ""),
	departs(cond("eq-list", "tags[6] = :l", `{":l":[1,2]}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	departs(cond("eq-map", "pictures = :m", `{":m":{"side":"s.jpg","front":"f.jpg","sizes":[10,20,30]}}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	cond("eq-map-differs", "pictures = :m", `{":m":{"front":"f.jpg"}}`),
	departs(cond("in-list", "tags[6] IN (:a, :l)", `{":a":1,":l":[1,2]}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	departs(cond("contains-list-map", "contains(tags, :m)", `{":m":{"k":"v"}}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	departs(cond("contains-list-list", "contains(tags, :l)", `{":l":[1,2]}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	departs(cond("contains-list-bool", "contains(tags, :b)", `{":b":true}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	departs(cond("contains-list-null", "contains(tags, :n)", `{":n":null}`), dynaliteDeepEquality, outcome{Item: `{"new":true}`}),
	cond("contains-number-in-string", "contains(title, :n)", `{":n":101}`),
	cond("contains-map", "contains(pictures, :k)", `{":k":"front"}`),
	cond("size-unicode", "size(u) = :n", `{":n":5}`),
	cond("size-astral", "size(emoji) = :n", `{":n":2}`),
	cond("string-order-bytes", "u > :v", `{":v":"hzzz"}`),
	cond("between-strings", "brand BETWEEN :a AND :b", `{":a":"M",":b":"N"}`),
	cond("between-equal-bounds", "price BETWEEN :a AND :a", `{":a":500}`),
	cond("number-precision", "big > :v", `{":v":12345678901234567889.999}`),
	cond("number-negative-order", "neg > :v", `{":v":-3.0001}`),
	cond("zero-equal", "zero = :v", `{":v":-0.0}`),
	departs(cond("not-not", "NOT NOT flag = :t", `{":t":true}`),
		"dynalite's grammar takes one NOT before a condition, DynamoDB's any number (which count as operators)", outcome{Item: `{"new":true}`}),
	cond("or-precedence-left", "price = :x AND title = :x OR flag = :t", `{":x":0,":t":true}`),
	cond("paren-function", "(attribute_exists(title)) AND (size(tags) > :n)", `{":n":1}`),
	cond("function-paren-operand", "size((tags)) > :n", `{":n":1}`),
	cond("deep-nested-paths", "pictures.sizes[2] = :v AND tags[5].k = :k", `{":v":30,":k":"v"}`),
	condN("name-for-reserved", "#n = :v", map[string]string{"#n": "name"}, `{":v":1}`),
	condN("name-many-uses", "#p > :a AND #p < :b", map[string]string{"#p": "price"}, `{":a":1,":b":1000}`),
	cond("value-reused", "price > :v OR neg < :v", `{":v":0}`),
	cond("whitespace", "\tprice\n=\r:v  ", `{":v":500}`),
	{name: "absent-item-exists", op: "put", put: `{"new":true}`, cond: s("attribute_exists(id)")},
	{name: "absent-item-not-exists", op: "put", put: `{"new":true}`, cond: s("attribute_not_exists(id)")},
	{name: "absent-item-ne", op: "put", put: `{"new":true}`, cond: s("x <> :v"), values: `{":v":1}`},
	{name: "delete-condition-holds", op: "delete", item: catalog, cond: s("price = :p"), values: `{":p":500}`},
	{name: "delete-condition-fails", op: "delete", item: catalog, cond: s("price = :p"), values: `{":p":501}`},
	{name: "delete-all-old", op: "delete", item: catalog, cond: s("attribute_exists(id)"), rv: "ALL_OLD"},
	{name: "put-all-old", op: "put", item: `{"old":1}`, put: `{"new":true}`, rv: "ALL_OLD"},
	{name: "err-put-rv", op: "put", item: `{"old":1}`, put: `{"new":true}`, rv: "ALL_NEW"},
}

func TestDifferentialConditionErrors(t *testing.T) {
	e := newEnv(t)
	e.run(t, conditionErrorCases)
}

var conditionErrorCases = []dcase{
	cond("err-empty", "", ""),
	cond("err-reserved", "name = :v", `{":v":1}`),
	cond("err-reserved-any-case", "attribute_exists(NaMe)", ""),
	cond("err-reserved-nested", "pictures.comment = :v", `{":v":1}`),
	condN("err-name-undefined", "#x = :v", map[string]string{"#y": "a"}, `{":v":1}`),
	cond("err-name-undefined-no-map", "#x = :v", `{":v":1}`),
	cond("err-value-undefined", "a = :w", `{":v":1}`),
	cond("err-value-undefined-no-map", "a = :v", ""),
	cond("err-value-unused", "a = :v", `{":v":1,":w":2}`),
	condN("err-name-unused", "a = :v", map[string]string{"#n": "x"}, `{":v":1}`),
	cond("err-values-empty", "a = b", `{}`),
	condN("err-names-empty", "a = :v", map[string]string{}, `{":v":1}`),
	condN("err-name-key-syntax", "a = :v", map[string]string{"n": "x"}, `{":v":1}`),
	cond("err-value-key-syntax", "a = :v", `{":v":1,"v":2}`),
	departs(condN("err-name-empty-value", "#n = :v", map[string]string{"#n": ""}, `{":v":1}`), dynaliteEmptyName,
		outcome{Err: "ExpressionAttributeNames contains invalid value: Empty attribute name for key #n"}),
	cond("err-function-unknown", "whatever(a) = :v", `{":v":1}`),
	cond("err-function-case", "Attribute_Exists(a)", ""),
	departs(cond("err-function-update-only", "if_not_exists(a, :v) = :v", `{":v":1}`), dynaliteFunctionKinds,
		outcome{Err: "Invalid ConditionExpression: The function is not allowed in a condition expression; function: if_not_exists"}),
	departs(cond("err-function-list-append", "list_append(a, :v)", `{":v":[1]}`), dynaliteFunctionKinds,
		outcome{Err: "Invalid ConditionExpression: The function is not allowed in a condition expression; function: list_append"}),
	cond("err-size-alone", "size(a)", ""),
	cond("err-function-in-comparison", "attribute_exists(a) = :v", `{":v":true}`),
	cond("err-function-nested", "size(contains(a, :v)) > :v", `{":v":1}`),
	cond("err-exists-two-operands", "attribute_exists(a, b)", ""),
	cond("err-begins-with-one", "begins_with(a)", ""),
	cond("err-size-two", "size(a, b) > :v", `{":v":1}`),
	cond("err-exists-value", "attribute_exists(:v)", `{":v":1}`),
	cond("err-type-not-string", "attribute_type(a, :t)", `{":t":1}`),
	departs(cond("err-type-bad-name", "attribute_type(a, :t)", `{":t":"X"}`), dynaliteTypeOrder,
		outcome{Err: "Invalid ConditionExpression: Invalid attribute type name found; type: X, valid types: {N,BS,L,B,NULL,M,S,SS,NS,BOOL}"}),
	cond("err-begins-with-number", "begins_with(a, :n)", `{":n":1}`),
	cond("err-begins-with-size", "begins_with(a, size(b))", ""),
	cond("err-size-of-number", "size(:n) > a", `{":n":1}`),
	cond("err-size-of-size", "size(size(a)) > :n", `{":n":1}`),
	cond("err-distinct-eq", "a = a", ""),
	condN("err-distinct-name", "#a > a", map[string]string{"#a": "a"}, ""),
	cond("err-distinct-nested", "contains(p.q[1], p.q[1])", ""),
	cond("err-between-types", "a BETWEEN :x AND :y", `{":x":1,":y":"a"}`),
	cond("err-between-order", "a BETWEEN :x AND :y", `{":x":2,":y":1}`),
	departs(cond("err-lt-bool", "a < :b", `{":b":true}`), dynaliteNoOperandTypes,
		outcome{Err: "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: BOOL"}),
	departs(cond("err-lt-list", "a < :l", `{":l":[1]}`), dynaliteNoOperandTypes,
		outcome{Err: "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: <, operand type: L"}),
	departs(cond("err-between-map", "a BETWEEN :m AND :n", `{":m":{},":n":{}}`), dynaliteNoOperandTypes,
		outcome{Err: "Invalid ConditionExpression: Incorrect operand type for operator or function; operator or function: BETWEEN, operand type: M"}),
	cond("err-redundant-parens", "((a = :v))", `{":v":1}`),
	cond("err-redundant-operand", "a = ((:v))", `{":v":1}`),
	cond("err-value-invalid-number", "a = :v", `{":v":1e200}`),
	cond("err-value-too-precise", "a = :v", `{":v":1.234567890123456789012345678901234567890}`),
	cond("err-syntax-number", "a > 4", ""),
	cond("err-syntax-dash", "dash-name = :v", `{":v":1}`),
	cond("err-syntax-trailing", "a = :v b", `{":v":1}`),
	cond("err-syntax-in", "a IN :v", `{":v":1}`),
	cond("err-syntax-between", "a BETWEEN :x", `{":x":1}`),
	cond("err-syntax-eof", "a =", ""),
	departs(cond("err-syntax-keyword", "set = :v", `{":v":1}`), dynaliteKeywords,
		outcome{Err: `Invalid ConditionExpression: Syntax error; token: "set", near: "set ="`}),
	cond("err-syntax-index", "a[b] = :v", `{":v":1}`),
	cond("err-syntax-paren-path", "(a).b = :v", `{":v":1}`),
	cond("err-syntax-unicode", "ü = :v", `{":v":1}`),
	departs(cond("err-syntax-underscore", "_a = :v", `{":v":1}`), dynaliteUnderscore,
		outcome{Err: `Invalid ConditionExpression: Syntax error; token: "_", near: "_a"`}),
}

// The item most update cases start from.
const upItem = `{"a":1,"s":"x","l":[1,2,3,4,5,6],"m":{"x":1,"y":{"z":2}},"n":null,"b":true,"ll":[[1],[2]],"fr":0.1}`

// up is an update of the upItem.
func up(name, u, values string) dcase {
	return dcase{name: name, op: "update", item: upItem, upd: s(u), values: values}
}

// upRV is up with ReturnValues.
func upRV(name, u, values, rv string) dcase {
	c := up(name, u, values)
	c.rv = rv
	return c
}

// upOn is an update of another item ("" for none).
func upOn(name, item, u, values string) dcase {
	c := up(name, u, values)
	c.item = item
	return c
}

const (
	dynaliteRemoveShifts  = "dynalite applies REMOVE of list elements one after the other, so later indexes shift; DynamoDB reads every index in the item as it was before the update"
	dynaliteRemoveAbsent  = "dynalite refuses REMOVE of a nested path of an item that does not exist; DynamoDB does nothing"
	dynaliteNoNumberLimit = "dynalite stores an arithmetic result beyond DynamoDB's number range; DynamoDB refuses it"
	dynaliteDeleteTypeSet = "dynalite's message for ADD and DELETE operands lacks DynamoDB's \", typeSet: ALLOWED_FOR_...\" suffix"
	dynaliteNestedAppend  = "dynalite lets list_append take list_append; DynamoDB allows only if_not_exists as an operand of a function"
	dynaliteSumParens     = "dynalite's grammar takes one pair of parentheses around a SET sum and calls a second a syntax error; DynamoDB parses it and refuses redundant parentheses"
	dynaliteNoLimits      = "dynalite does not enforce DynamoDB's limits on document path depth (32) and IN's operands (100)"
	dynaliteDeepEquality  = "dynalite compares lists and maps by reference (never equal) and finds in a list only strings, numbers and binaries; DynamoDB compares them by value"
	dynaliteOverlapOrder  = "dynalite names the first path it checked as path two; DynamoDB names the first child in its hash map's order"
)

func TestDifferentialUpdates(t *testing.T) {
	e := newEnv(t)
	e.run(t, updateCases)
}

var updateCases = []dcase{
	up("set-new", "SET c = :v", `{":v":"new"}`),
	up("set-replace", "SET a = :v", `{":v":[1,{"k":null}]}`),
	up("set-two", "SET c = :v, d = :w", `{":v":1,":w":2}`),
	up("set-lowercase", "set c = :v", `{":v":1}`),
	up("set-copy", "SET c = s", ""),
	up("set-copy-nested", "SET c = m.y.z", ""),
	up("set-copy-list-element", "SET c = ll[1][0]", ""),
	up("err-set-copy-missing", "SET c = nope", ""),
	up("set-copy-read-before-write", "SET a = s, s = a", ""),
	up("set-nested-new", "SET m.w = :v", `{":v":true}`),
	up("set-nested-deep", "SET m.y.z = :v", `{":v":3}`),
	up("err-set-nested-missing-parent", "SET q.w = :v", `{":v":1}`),
	up("err-set-nested-on-scalar", "SET s.w = :v", `{":v":1}`),
	up("err-set-index-on-map", "SET m[0] = :v", `{":v":1}`),
	up("err-set-name-on-list", "SET l.x = :v", `{":v":1}`),
	up("set-list-replace", "SET l[0] = :v", `{":v":"first"}`),
	up("set-list-past-end", "SET l[10] = :v", `{":v":"last"}`),
	up("set-list-past-end-order", "SET l[20] = :a, l[10] = :b", `{":a":"a",":b":"b"}`),
	up("set-nested-list", "SET ll[1][0] = :v", `{":v":9}`),
	up("set-plus", "SET a = a + :v", `{":v":2}`),
	up("set-minus", "SET a = a - :v", `{":v":2.5}`),
	up("set-plus-values", "SET c = :x + :y", `{":x":1,":y":2}`),
	up("set-plus-decimal", "SET fr = fr + :v", `{":v":0.2}`),
	up("set-plus-big", "SET c = :x + :y", `{":x":12345678901234567890,":y":1}`),
	up("set-minus-paths", "SET c = a - m.x", ""),
	up("err-set-plus-string-value", "SET a = a + :v", `{":v":"1"}`),
	up("err-set-plus-string-attr", "SET c = s + :v", `{":v":1}`),
	up("err-set-plus-missing", "SET c = nope + :v", `{":v":1}`),
	up("err-set-three-terms", "SET c = a + a + a", ""),
	up("set-paren-sum", "SET c = (a + :v)", `{":v":1}`),
	up("set-list-append", "SET l = list_append(l, :v)", `{":v":[7,8]}`),
	up("set-list-prepend", "SET l = list_append(:v, l)", `{":v":["z"]}`),
	up("set-list-append-empty", "SET l = list_append(l, :v)", `{":v":[]}`),
	up("err-list-append-missing", "SET c = list_append(nope, :v)", `{":v":[1]}`),
	up("err-list-append-non-list", "SET c = list_append(m, :v)", `{":v":[1]}`),
	up("err-list-append-string-value", "SET c = list_append(l, :v)", `{":v":"x"}`),
	up("err-list-append-one", "SET c = list_append(l)", ""),
	up("set-if-not-exists-new", "SET c = if_not_exists(c, :v)", `{":v":5}`),
	up("set-if-not-exists-old", "SET a = if_not_exists(a, :v)", `{":v":5}`),
	up("set-if-not-exists-plus", "SET c = if_not_exists(c, :z) + :one", `{":z":0,":one":1}`),
	up("set-append-if-not-exists", "SET c = list_append(if_not_exists(c, :e), :v)", `{":e":[],":v":[1]}`),
	up("set-if-not-exists-nested", "SET c = if_not_exists(c, if_not_exists(d, :v))", `{":v":1}`),
	up("err-if-not-exists-value-first", "SET c = if_not_exists(:v, a)", `{":v":1}`),
	departs(up("err-list-append-nested", "SET c = list_append(list_append(l, :v), :v)", `{":v":[1]}`), dynaliteNestedAppend,
		outcome{Err: "Invalid UpdateExpression: The function is not allowed to be used this way in an expression; function: list_append"}),
	departs(up("err-function-condition-in-update", "SET c = size(l)", ""), dynaliteFunctionKinds,
		outcome{Err: "Invalid UpdateExpression: The function is not allowed in an update expression; function: size"}),
	up("err-function-unknown", "SET c = f(a)", ""),
	up("remove-top", "REMOVE a", ""),
	up("remove-absent-attribute", "REMOVE nope", ""),
	up("remove-nested", "REMOVE m.y.z", ""),
	up("remove-nested-missing-leaf", "REMOVE m.nope", ""),
	up("remove-list-element", "REMOVE l[0]", ""),
	up("remove-list-past-end", "REMOVE l[17]", ""),
	up("remove-several", "REMOVE a, s, b", ""),
	up("err-remove-nested-missing-parent", "REMOVE q.w", ""),
	up("err-remove-index-on-scalar", "REMOVE s[0]", ""),
	departs(up("remove-list-elements", "REMOVE l[1], l[3]", ""), dynaliteRemoveShifts,
		outcome{Item: `{"a":1,"b":true,"fr":0.1,"l":[1,3,5,6],"ll":[[1],[2]],"m":{"x":1,"y":{"z":2}},"n":null,"s":"x"}`}),
	departs(up("remove-then-set-index", "REMOVE l[1] SET l[3] = :v", `{":v":17}`), dynaliteRemoveShifts,
		outcome{Item: `{"a":1,"b":true,"fr":0.1,"l":[1,3,17,5,6],"ll":[[1],[2]],"m":{"x":1,"y":{"z":2}},"n":null,"s":"x"}`}),
	up("remove-and-set", "REMOVE a SET c = a", ""),
	up("add-number", "ADD a :v", `{":v":41}`),
	up("add-new", "ADD c :v", `{":v":-1.5}`),
	up("add-nested", "ADD m.x :v", `{":v":1}`),
	up("err-add-to-string", "ADD s :v", `{":v":1}`),
	departs(up("err-add-string", "ADD a :v", `{":v":"x"}`), dynaliteDeleteTypeSet,
		outcome{Err: "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: STRING, typeSet: ALLOWED_FOR_ADD_OPERAND"}),
	departs(up("err-add-list", "ADD l :v", `{":v":[1]}`), dynaliteDeleteTypeSet,
		outcome{Err: "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: ADD, operand type: LIST, typeSet: ALLOWED_FOR_ADD_OPERAND"}),
	departs(up("err-delete-list", "DELETE l :v", `{":v":[1]}`), dynaliteDeleteTypeSet,
		outcome{Err: "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: LIST, typeSet: ALLOWED_FOR_DELETE_OPERAND"}),
	departs(up("err-delete-number", "DELETE a :v", `{":v":1}`), dynaliteDeleteTypeSet,
		outcome{Err: "Invalid UpdateExpression: Incorrect operand type for operator or function; operator: DELETE, operand type: NUMBER, typeSet: ALLOWED_FOR_DELETE_OPERAND"}),
	up("all-sections", "SET c = :v REMOVE s ADD a :n", `{":v":1,":n":1}`),
	up("err-section-twice", "SET c = :v REMOVE s SET d = :v", `{":v":1}`),
	up("err-overlap-same", "SET c = :v, c = :w", `{":v":1,":w":2}`),
	up("err-overlap-set-remove", "SET m.x = :v REMOVE m", `{":v":1}`),
	up("err-overlap-prefix", "SET m = :v, m.y.z = :v", `{":v":1}`),
	up("err-conflict", "SET m.x = :v, m[1] = :v", `{":v":1}`),
	up("err-reserved", "SET comment = :v", `{":v":1}`),
	up("err-name-undefined", "SET #c = :v", `{":v":1}`),
	up("err-value-undefined", "SET c = :w", `{":v":1}`),
	up("err-value-unused", "SET c = :v", `{":v":1,":w":2}`),
	up("err-empty", "", ""),
	up("err-syntax-no-section", "c = :v", `{":v":1}`),
	up("err-syntax-set-alone", "SET", ""),
	up("err-syntax-trailing-comma", "SET c = :v,", `{":v":1}`),
	up("err-syntax-value-on-left", "SET :v = c", `{":v":1}`),
	up("err-syntax-add-path", "ADD a b", ""),
	up("err-syntax-index-name", "SET l[#i] = :v", `{":v":1}`),
	departs(up("err-redundant", "SET c = ((a + :v))", `{":v":1}`), dynaliteSumParens,
		outcome{Err: "Invalid UpdateExpression: The expression has redundant parentheses;"}),
	departs(up("err-syntax-underscore", "SET _c = :v", `{":v":1}`), dynaliteUnderscore,
		outcome{Err: `Invalid UpdateExpression: Syntax error; token: "_", near: "SET _c"`}),
	departs(up("err-syntax-keyword", "SET and = :v", `{":v":1}`), dynaliteKeywords,
		outcome{Err: `Invalid UpdateExpression: Syntax error; token: "and", near: "SET and ="`}),
	up("err-key", "SET id = :v", `{":v":"other"}`),
	upOn("absent-set", "", "SET c = :v", `{":v":1}`),
	upOn("absent-add", "", "ADD c :v", `{":v":1}`),
	upOn("absent-remove", "", "REMOVE c", ""),
	upOn("err-absent-set-nested", "", "SET c.d = :v", `{":v":1}`),
	upOn("err-absent-copy", "", "SET c = d", ""),
	departs(upOn("absent-remove-nested", "", "REMOVE c.d", ""), dynaliteRemoveAbsent, outcome{Item: `{}`}),
	upRV("rv-none", "SET c = :v", `{":v":1}`, "NONE"),
	upRV("rv-all-old", "SET c = :v", `{":v":1}`, "ALL_OLD"),
	upRV("rv-all-new", "SET c = :v REMOVE s", `{":v":1}`, "ALL_NEW"),
	upRV("rv-updated-old", "SET a = :v, m.y.z = :v REMOVE s", `{":v":9}`, "UPDATED_OLD"),
	upRV("rv-updated-new", "SET a = :v, m.y.z = :v REMOVE s", `{":v":9}`, "UPDATED_NEW"),
	upRV("rv-updated-new-remove-only", "REMOVE s", "", "UPDATED_NEW"),
	upRV("rv-updated-old-new-attribute", "SET c = :v", `{":v":1}`, "UPDATED_OLD"),
	upRV("rv-updated-list", "SET l[1] = :v, l[4] = :v", `{":v":0}`, "UPDATED_NEW"),
	dcase{name: "rv-absent-all-old", op: "update", upd: s("SET c = :v"), values: `{":v":1}`, rv: "ALL_OLD"},
	dcase{name: "rv-absent-updated-old", op: "update", upd: s("SET c = :v"), values: `{":v":1}`, rv: "UPDATED_OLD"},
	upRV("err-rv-bad", "SET c = :v", `{":v":1}`, "SOME"),
	dcase{name: "cond-update-passes", op: "update", item: upItem, upd: s("SET a = a + :one"), cond: s("a = :a"), values: `{":one":1,":a":1}`},
	dcase{name: "cond-update-fails", op: "update", item: upItem, upd: s("SET a = a + :one"), cond: s("a = :a"), values: `{":one":1,":a":2}`},
	dcase{name: "cond-update-absent", op: "update", upd: s("SET c = :one"), cond: s("attribute_not_exists(id)"), values: `{":one":1}`},
	dcase{name: "err-cond-update-value-unused", op: "update", item: upItem, upd: s("SET a = :one"), cond: s("a = :one"), values: `{":one":1,":two":2}`},
	dcase{name: "cond-update-shared-names", op: "update", item: upItem, upd: s("SET #a = :v"), cond: s("#a < :v"), names: map[string]string{"#a": "a"}, values: `{":v":9}`},
	departs(up("err-sum-overflow", "SET c = :x + :x", `{":x":9e125}`), dynaliteNoNumberLimit,
		outcome{Err: "Number overflow. Attempting to store a number with magnitude larger than supported range"}),
}
