package expr

import "github.com/surgehq/surge/internal/items"

// KeySchema names the key of the table or index a query reads: its
// partition key and optional sort key, and their types ("S" or "N"; empty
// takes either, since JSON items declare no types).
type KeySchema struct {
	Partition     string
	PartitionType string
	Sort          string
	SortType      string
}

// KeyCondition is a KeyConditionExpression bound to its values and checked
// against the key schema: an equality on the partition key and, perhaps,
// a condition on the sort key. A store serves it from an index by Value
// and Sort; Match tells whether an item satisfies it.
type KeyCondition struct {
	// Partition is the partition key's name and Value the value it must
	// equal, canonical JSON.
	Partition string
	Value     []byte
	// Sort is the sort key's condition, or nil.
	Sort *SortCondition
}

// SortCondition is a condition on the sort key.
type SortCondition struct {
	Name string
	// Op is =, <, <=, >, >=, BETWEEN or begins_with.
	Op string
	// Values holds the operand, canonical JSON; BETWEEN has two, the lower
	// bound first.
	Values [][]byte
}

// Match reports whether the item (canonical JSON, as items.Attributes or
// items.Item.AppendJSON write it) satisfies the key condition.
func (k *KeyCondition) Match(item items.Attributes) bool {
	d := getDoc(item)
	defer putDoc(d)
	if !equal(d.member(k.Partition), k.Value) {
		return false
	}
	s := k.Sort
	if s == nil {
		return true
	}
	v := d.member(s.Name)
	switch s.Op {
	case "=":
		return equal(v, s.Values[0])
	case "begins_with":
		return typeOf(v) == vS && typeOf(s.Values[0]) == vS && hasPrefix(strBytes(v), strBytes(s.Values[0]))
	case "BETWEEN":
		return ordered(v, s.Values[0]) && ordered(v, s.Values[1]) &&
			compareOrdered(v, s.Values[0]) >= 0 && compareOrdered(v, s.Values[1]) <= 0
	}
	if !ordered(v, s.Values[0]) {
		return false
	}
	c := compareOrdered(v, s.Values[0])
	switch s.Op {
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	}
	return c >= 0
}

func hasPrefix(s, p []byte) bool { return len(s) >= len(p) && string(s[:len(p)]) == string(p) }

// keyConds is a key condition taken apart: a condition per key name, in
// the order they were found.
type keyCond struct {
	name   string
	op     string
	values [][]byte
}

var inverse = map[string]string{"<": ">", ">": "<", "<=": ">=", ">=": "<=", "=": "="}

const (
	msgKeyOperator  = "Invalid operator used in KeyConditionExpression: "
	msgKeyCondition = "Invalid condition in KeyConditionExpression: "
)

// extractKeyConds takes a bound key condition apart as DynamoDB does: ANDs
// of one comparison each, on a top-level name, with values.
func extractKeyConds(n *bnode, out []keyCond) ([]keyCond, error) {
	if n.kind == nAnd {
		var err error
		for _, a := range n.args {
			if out, err = extractKeyConds(a, out); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	op := n.info.name
	switch op {
	case "=", "<", "<=", ">", ">=", "BETWEEN", "begins_with":
	default:
		return nil, msgError(msgKeyOperator + op)
	}
	c := keyCond{op: op}
	for _, a := range n.args {
		switch a.kind {
		case nPath:
			if c.name != "" {
				return nil, msgError(msgKeyCondition + "Multiple attribute names used in one condition")
			}
			if len(a.path) > 1 {
				return nil, msgError("KeyConditionExpressions cannot have conditions on nested attributes")
			}
			c.name = a.path[0].name
		case nValue:
			if c.name == "" {
				if op == "BETWEEN" || op == "begins_with" {
					return nil, msgError(msgKeyCondition + op + " operator must have the key attribute as its first operand")
				}
				c.op = inverse[c.op]
			}
			c.values = append(c.values, a.val)
		default:
			return nil, msgError("KeyConditionExpressions cannot contain nested operations")
		}
	}
	if c.name == "" {
		return nil, msgError(msgKeyCondition + "No key attribute specified")
	}
	for _, d := range out {
		if d.name == c.name {
			return nil, msgError("KeyConditionExpressions must only contain one condition per key")
		}
	}
	return append(out, c), nil
}

// keyCondition checks key conditions against the schema and returns the
// key condition.
func keyCondition(conds []keyCond, s KeySchema) (*KeyCondition, error) {
	size := 1
	if s.Sort != "" {
		size = 2
	}
	if len(conds) > size {
		return nil, plainError("Query key condition not supported")
	}
	find := func(name string) *keyCond {
		for i := range conds {
			if conds[i].name == name {
				return &conds[i]
			}
		}
		return nil
	}
	typeOK := func(want string, vals [][]byte) bool {
		for _, v := range vals {
			t := typeOf(v)
			if want == "" && t != vS && t != vN || want != "" && abbr[t] != want {
				return false
			}
		}
		return true
	}
	const mismatch = "One or more parameter values were invalid: Condition parameter type does not match schema type"
	pk := find(s.Partition)
	if pk == nil {
		return nil, plainError("Query condition missed key schema element: " + s.Partition)
	}
	if !typeOK(s.PartitionType, pk.values) {
		return nil, plainError(mismatch)
	}
	if pk.op != "=" {
		return nil, plainError("Query key condition not supported")
	}
	kc := &KeyCondition{Partition: pk.name, Value: pk.values[0]}
	if s.Sort == "" {
		return kc, nil
	}
	sk := find(s.Sort)
	if sk == nil {
		if len(conds) > 1 {
			return nil, plainError("Query condition missed key schema element: " + s.Sort)
		}
		return kc, nil
	}
	if !typeOK(s.SortType, sk.values) {
		return nil, plainError(mismatch)
	}
	if sk.op == "begins_with" && typeOf(sk.values[0]) != vS {
		return nil, plainError("One or more parameter values were invalid: ComparisonOperator BEGINS_WITH is not valid for " + abbr[typeOf(sk.values[0])] + " AttributeValue type")
	}
	kc.Sort = &SortCondition{Name: sk.name, Op: sk.op, Values: sk.values}
	return kc, nil
}
