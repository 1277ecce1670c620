package expr

import (
	"bytes"
	"slices"
	"strconv"
	"strings"

	"github.com/go-json-experiment/json/jsontext"
)

// Request holds the expression members of one request, as a payload
// carries them. A nil expression is absent; a present empty one is an
// error, as in DynamoDB. A nil map is absent; a present empty one is an
// error.
type Request struct {
	ConditionExpression    *string
	UpdateExpression       *string
	ProjectionExpression   *string
	FilterExpression       *string
	KeyConditionExpression *string
	// ExpressionAttributeNames maps #names to attribute names.
	ExpressionAttributeNames map[string]string
	// ExpressionAttributeValues maps :values to JSON values, as JSON text
	// ("5", `"a"`, `[1,{"b":true}]`).
	ExpressionAttributeValues map[string][]byte
	// Legacy names the request's non-expression parameters
	// (AttributeUpdates, Expected, ...), which DynamoDB refuses beside
	// expressions.
	Legacy []string

	// nameOrder and valueOrder are the maps' keys in the payload's order,
	// which decides which of several bad keys DynamoDB names.
	nameOrder, valueOrder []string
}

// Members are the payload members ParseRequest reads.
var Members = []string{"ConditionExpression", "UpdateExpression", "ProjectionExpression", "FilterExpression",
	"KeyConditionExpression", "ExpressionAttributeNames", "ExpressionAttributeValues"}

// ParseRequest reads the expression members of a payload, a JSON object;
// it leaves other members to the caller. Its errors are EINVALID.
func ParseRequest(payload []byte) (*Request, error) {
	r := &Request{}
	d := jsontext.NewDecoder(bytes.NewReader(payload))
	if tok, err := d.ReadToken(); err != nil || tok.Kind() != '{' {
		return nil, invalid("The payload must be a JSON object.")
	}
	for d.PeekKind() != '}' {
		tok, err := d.ReadToken()
		if err != nil {
			return nil, invalid("The payload is not valid JSON.")
		}
		name := tok.String()
		v, err := d.ReadValue()
		if err != nil {
			return nil, invalid("The payload is not valid JSON.")
		}
		var dst **string
		switch name {
		case "ConditionExpression":
			dst = &r.ConditionExpression
		case "UpdateExpression":
			dst = &r.UpdateExpression
		case "ProjectionExpression":
			dst = &r.ProjectionExpression
		case "FilterExpression":
			dst = &r.FilterExpression
		case "KeyConditionExpression":
			dst = &r.KeyConditionExpression
		case "ExpressionAttributeNames":
			if err := r.readNames(v); err != nil {
				return nil, err
			}
			continue
		case "ExpressionAttributeValues":
			if err := r.readValues(v); err != nil {
				return nil, err
			}
			continue
		default:
			continue
		}
		if v.Kind() != '"' {
			return nil, invalid(`"` + name + `" must be a string.`)
		}
		str := unquote(v)
		*dst = &str
	}
	return r, nil
}

func (r *Request) readNames(v jsontext.Value) error {
	if v.Kind() != '{' {
		return invalid(`"ExpressionAttributeNames" must be an object of strings.`)
	}
	r.ExpressionAttributeNames = map[string]string{}
	var err error
	eachMember(compact(v), func(q, val []byte) bool {
		if typeOf(val) != vS {
			err = invalid(`"ExpressionAttributeNames" must be an object of strings.`)
			return false
		}
		k := unquote(q)
		r.ExpressionAttributeNames[k] = unquote(val)
		r.nameOrder = append(r.nameOrder, k)
		return true
	})
	return err
}

func (r *Request) readValues(v jsontext.Value) error {
	if v.Kind() != '{' {
		return invalid(`"ExpressionAttributeValues" must be a JSON object.`)
	}
	r.ExpressionAttributeValues = map[string][]byte{}
	eachMember(compact(v), func(q, val []byte) bool {
		k := unquote(q)
		r.ExpressionAttributeValues[k] = bytes.Clone(val)
		r.valueOrder = append(r.valueOrder, k)
		return true
	})
	return nil
}

// compact returns JSON text without insignificant whitespace.
func compact(v jsontext.Value) []byte {
	c := bytes.Clone(v)
	if err := (*jsontext.Value)(&c).Compact(); err != nil {
		return v
	}
	return c
}

// Options say what Compile needs to know of the table.
type Options struct {
	// Key names the table's key attributes (surge's is "id"): an update
	// may not change them, and no path may go below them.
	Key []string
	// IndexKeys names the key attributes of the table's indexes, below
	// which no path may go either.
	IndexKeys []string
	// KeySchema is the key of the table or index a Query reads.
	KeySchema KeySchema
}

// Expressions are a request's expressions, parsed, bound and checked. An
// absent expression is nil.
type Expressions struct {
	Condition    *Condition
	Filter       *Condition
	Update       *Update
	Projection   *Projection
	KeyCondition *KeyCondition

	keyRoot   *bnode          // the KeyConditionExpression, bound
	keyNested map[string]bool // its top-level names with nested access
}

// member names of the expressions, in the order DynamoDB's messages list them.
const (
	mUpdate     = "UpdateExpression"
	mProjection = "ProjectionExpression"
	mCondition  = "ConditionExpression"
	mFilter     = "FilterExpression"
	mKey        = "KeyConditionExpression"
)

// Limits of DynamoDB's.
const (
	maxExprLen     = 4096    // characters of an expression
	maxKeyLen      = 255     // characters of a #name or :value
	maxNameLen     = 65535   // bytes of an attribute name
	maxMapsSize    = 2 << 20 // bytes of the names and values maps
	maxTreeSize    = 1 << 20 // an expression with its names and values substituted
	maxUpdateBytes = 409600  // what an update may write
)

func (r *Request) expr(member string) *string {
	switch member {
	case mUpdate:
		return r.UpdateExpression
	case mProjection:
		return r.ProjectionExpression
	case mCondition:
		return r.ConditionExpression
	case mFilter:
		return r.FilterExpression
	}
	return r.KeyConditionExpression
}

// opMembers are the expressions an operation takes, in the order DynamoDB
// checks them, and valueMembers those that take values.
var (
	opMembers = map[Op][]string{
		GetItem:    {mProjection},
		PutItem:    {mCondition},
		DeleteItem: {mCondition},
		UpdateItem: {mUpdate, mCondition},
		Query:      {mFilter, mProjection, mKey},
		Scan:       {mFilter, mProjection},
	}
	valueMembers = map[Op]string{
		PutItem:    "ConditionExpression is null",
		DeleteItem: "ConditionExpression is null",
		UpdateItem: "UpdateExpression and ConditionExpression are null",
		Query:      "FilterExpression and KeyConditionExpression are null",
		Scan:       "FilterExpression is null",
	}
)

// Compile parses, binds and checks the expressions of a request for op,
// as DynamoDB checks them before it reads the item. Its errors are EINVALID
// *items.Error with DynamoDB's messages.
func Compile(op Op, r *Request, opt Options) (*Expressions, error) {
	ex, err := compile(op, r, opt)
	if err != nil {
		return nil, invalid(err.Error())
	}
	return ex, nil
}

func compile(op Op, r *Request, opt Options) (*Expressions, error) {
	members, ok := opMembers[op]
	if !ok {
		return nil, plainError("Unknown operation.")
	}
	for _, m := range []string{mUpdate, mProjection, mCondition, mFilter, mKey} {
		if r.expr(m) != nil && !slices.Contains(members, m) {
			return nil, plainError("The " + op.String() + " request does not take " + m + ".")
		}
	}
	if op == GetItem && r.ExpressionAttributeValues != nil {
		return nil, plainError("The GetItem request does not take ExpressionAttributeValues.")
	}
	var present []string
	for _, m := range []string{mUpdate, mProjection, mCondition, mFilter, mKey} {
		if r.expr(m) != nil {
			present = append(present, m)
		}
	}
	if len(present) > 0 && len(r.Legacy) > 0 {
		return nil, plainError("Can not use both expression and non-expression parameters in the same request: " +
			"Non-expression parameters: {" + strings.Join(r.Legacy, ", ") + "} Expression parameters: {" + strings.Join(present, ", ") + "}")
	}
	if r.ExpressionAttributeNames != nil && len(present) == 0 {
		return nil, plainError("ExpressionAttributeNames can only be specified when using expressions")
	}
	if r.ExpressionAttributeValues != nil {
		withValues := false
		for _, m := range present {
			withValues = withValues || m != mProjection
		}
		if !withValues {
			return nil, plainError("ExpressionAttributeValues can only be specified when using expressions: " + valueMembers[op])
		}
	}
	ex := &Expressions{}
	if len(present) == 0 {
		return ex, nil
	}
	values, err := r.checkMaps()
	if err != nil {
		return nil, err
	}
	b := newBinder(r.ExpressionAttributeNames, values)
	for _, m := range members {
		text := r.expr(m)
		if text == nil {
			continue
		}
		if err := b.compileOne(ex, m, *text); err != nil {
			return nil, err
		}
	}
	if err := r.checkUnused(b); err != nil {
		return nil, err
	}
	return ex, finish(op, ex, opt)
}

// checkMaps checks the names and values maps and returns the values in
// canonical form.
func (r *Request) checkMaps() (map[string][]byte, error) {
	names, vals := r.ExpressionAttributeNames, r.ExpressionAttributeValues
	nameOrder := order(r.nameOrder, names)
	valueOrder := order(r.valueOrder, vals)
	if names != nil && len(names) == 0 {
		return nil, plainError("ExpressionAttributeNames must not be empty")
	}
	for _, k := range nameOrder {
		if msg := checkKey(k, tName, true); msg != "" {
			return nil, plainError("ExpressionAttributeNames contains invalid key: " + msg)
		}
	}
	if vals != nil && len(vals) == 0 {
		return nil, plainError("ExpressionAttributeValues must not be empty")
	}
	for _, k := range valueOrder {
		if msg := checkKey(k, tValue, false); msg != "" {
			return nil, plainError("ExpressionAttributeValues contains invalid key: " + msg)
		}
	}
	values := make(map[string][]byte, len(vals))
	size := 0
	for _, k := range valueOrder {
		v, msg := canonical(vals[k])
		if msg != "" {
			return nil, plainError("ExpressionAttributeValues contains invalid value: " + msg + " for key " + k)
		}
		values[k] = v
	}
	for _, k := range nameOrder {
		switch n := names[k]; {
		case n == "":
			return nil, plainError("ExpressionAttributeNames contains invalid value: Empty attribute name for key " + k)
		case len(n) > maxNameLen:
			return nil, plainError("ExpressionAttributeNames contains invalid value: Attribute name is too large, must be less than 65536 bytes for key " + k)
		}
	}
	for _, k := range nameOrder {
		if size += len(k) + len(names[k]); size > maxMapsSize {
			return nil, plainError("ExpressionAttributeNames exceeds max size")
		}
	}
	vsize := 0
	for _, k := range valueOrder {
		if vsize += len(k) + attrSize(values[k]); vsize > maxMapsSize {
			return nil, plainError("ExpressionAttributeValues exceeds max size")
		}
	}
	if size+vsize > maxMapsSize {
		return nil, plainError("Combined size of ExpressionAttributeNames and ExpressionAttributeValues exceeds max size")
	}
	return values, nil
}

// order returns the map's keys in the payload's order when known, else
// sorted.
func order[V any](known []string, m map[string]V) []string {
	if len(known) == len(m) {
		return known
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// checkKey checks a #name or :value key, as DynamoDB does.
func checkKey(k string, want tokKind, sizeInMessage bool) string {
	switch n := utf16Len(k); {
	case n == 0:
		return "The expression attribute map contains an empty key;"
	case n > maxKeyLen:
		if sizeInMessage {
			return "The expression attribute map contains a key that is too long; size of key: " + strconv.Itoa(n)
		}
		return "The expression attribute map contains a key that is too long;"
	}
	// The key must lex as one #name (:value) token, whitespace around it
	// aside.
	t := strings.Trim(k, " \t\r\n")
	ok := len(t) >= 2 && (t[0] == '#') == (want == tName) && (t[0] == '#' || t[0] == ':')
	for i := 1; ok && i < len(t); i++ {
		ok = isIDChar(t[i])
	}
	if !ok {
		return `Syntax error; key: "` + k + `"`
	}
	return ""
}

// compileOne parses, checks and binds one expression.
func (b *binder) compileOne(ex *Expressions, member, text string) error {
	wrap := func(err error) error {
		if err == nil {
			return nil
		}
		return plainError("Invalid " + member + ": " + err.Error())
	}
	if text == "" {
		return wrap(msgError("The expression can not be empty;"))
	}
	if n := utf16Len(text); n > maxExprLen {
		if member == mUpdate || member == mProjection {
			return wrap(msgError("Expression size has exceeded the maximum allowed size;"))
		}
		return wrap(msgError("Expression size has exceeded the maximum allowed size; expression size: " + strconv.Itoa(n)))
	}
	b.uses = b.uses[:0]
	b.ops = 0
	b.nested = map[string]bool{}
	var err error
	switch member {
	case mUpdate:
		p := parse(gUpdate, text)
		if p.err != nil {
			return wrap(p.err)
		}
		u := &Update{nested: b.nested}
		if u.tree, u.acts, err = b.update(p.upd); err != nil {
			return wrap(err)
		}
		ex.Update = u
	case mProjection:
		p := parse(gProjection, text)
		if p.err != nil {
			return wrap(p.err)
		}
		pr := &Projection{nested: b.nested}
		if pr.tree, err = b.projection(p.proj); err != nil {
			return wrap(err)
		}
		ex.Projection = pr
	default:
		p := parse(gCondition, text)
		if p.err != nil {
			return wrap(p.err)
		}
		root, err := b.node(p.cond)
		if err != nil {
			return wrap(err)
		}
		c := &Condition{root: root, text: text, nested: b.nested}
		switch member {
		case mCondition:
			ex.Condition = c
		case mFilter:
			ex.Filter = c
		default:
			ex.keyRoot, ex.keyNested = root, b.nested
		}
	}
	if b.treeSize(utf16Len(text)) > maxTreeSize {
		return wrap(msgError("Expression size has exceeded the maximum allowed size;"))
	}
	if member == mUpdate {
		return b.checkUpdateSize(ex.Update)
	}
	return nil
}

// treeSize is the size of the expression just bound with its names and
// values substituted, each as many times as it is used.
func (b *binder) treeSize(n int) int {
	for _, k := range b.uses {
		if strings.HasPrefix(k, "#") {
			n += len(b.names[k])
		} else {
			n += attrSize(b.values[k])
		}
	}
	return n
}

// checkUpdateSize refuses an update that would write more than an item may
// hold, counting the names it sets and the values it uses.
func (b *binder) checkUpdateSize(u *Update) error {
	n := 0
	for _, a := range u.acts {
		if a.kind == aRemove {
			continue
		}
		for _, e := range a.path {
			n += len(e.name)
		}
		if a.value != nil {
			n += valueBytes(a.value)
		}
	}
	if n > maxUpdateBytes {
		return plainError("Item size to update has exceeded the maximum allowed size")
	}
	return nil
}

func valueBytes(n *bnode) int {
	if n.kind == nValue {
		return attrSize(n.val)
	}
	s := 0
	for _, a := range n.args {
		s += valueBytes(a)
	}
	return s
}

// checkUnused refuses names and values no expression uses.
func (r *Request) checkUnused(b *binder) error {
	check := func(all []string, used map[string]int, what string) error {
		var unused []string
		for _, k := range all {
			if used[k] == 0 {
				unused = append(unused, k)
			}
		}
		if len(unused) == 0 {
			return nil
		}
		return plainError("Value provided in " + what + " unused in expressions: keys: {" +
			strings.Join(setOrder(unused, len(all)), ", ") + "}")
	}
	if err := check(order(r.nameOrder, r.ExpressionAttributeNames), b.usedNames, "ExpressionAttributeNames"); err != nil {
		return err
	}
	return check(order(r.valueOrder, r.ExpressionAttributeValues), b.usedValues, "ExpressionAttributeValues")
}

// finish makes the checks an operation makes once its expressions are
// bound: no path below a key attribute, no filter on a query's key, and
// the query's key condition against its key schema.
func finish(op Op, ex *Expressions, opt Options) error {
	// DynamoDB takes a key condition apart when it validates the request,
	// before it looks at the table; the rest needs the table's keys.
	var conds []keyCond
	if op == Query {
		if ex.keyRoot == nil {
			return plainError("Either the KeyConditions or KeyConditionExpression parameter must be specified in the request.")
		}
		var err error
		if conds, err = extractKeyConds(ex.keyRoot, nil); err != nil {
			return plainError(err.Error())
		}
		if len(conds) > 2 {
			return plainError("Conditions can be of length 1 or 2 only")
		}
	}
	var sets []map[string]bool
	switch op {
	case Query, Scan:
		if ex.Filter != nil {
			sets = append(sets, ex.Filter.nested)
		}
		if ex.Projection != nil {
			sets = append(sets, ex.Projection.nested)
		}
		if ex.keyRoot != nil {
			sets = append(sets, ex.keyNested)
		}
	case GetItem:
		if ex.Projection != nil {
			sets = append(sets, ex.Projection.nested)
		}
	default: // an update's own paths are checked when it is applied
		if ex.Condition != nil {
			sets = append(sets, ex.Condition.nested)
		}
	}
	for _, nested := range sets {
		if err := checkNested(nested, opt.Key, opt.IndexKeys); err != nil {
			return err
		}
	}
	if ex.Update != nil {
		ex.Update.key, ex.Update.indexKeys = opt.Key, opt.IndexKeys
	}
	if op != Query {
		return nil
	}
	var err error
	if ex.KeyCondition, err = keyCondition(conds, opt.KeySchema); err != nil {
		return err
	}
	if ex.Filter != nil {
		for _, k := range []string{opt.KeySchema.Partition, opt.KeySchema.Sort} {
			if k != "" && topLevel(ex.Filter.root, k) {
				return plainError("Filter Expression can only contain non-primary key attributes: Primary key attribute: " + k)
			}
		}
	}
	return nil
}

// checkNested refuses a path below a key attribute of the table or of an
// index.
func checkNested(nested map[string]bool, key, indexKeys []string) error {
	for _, k := range key {
		if nested[k] {
			return plainError("Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: Key: " + k)
		}
	}
	for _, k := range indexKeys {
		if nested[k] {
			return plainError("Key attributes must be scalars; list random access '[]' and map lookup '.' are not allowed: IndexKey: " + k)
		}
	}
	return nil
}

// topLevel reports whether a path of the condition starts at name.
func topLevel(n *bnode, name string) bool {
	if n.kind == nPath {
		return n.path[0].kind == pMap && n.path[0].name == name
	}
	for _, a := range n.args {
		if topLevel(a, name) {
			return true
		}
	}
	return false
}
