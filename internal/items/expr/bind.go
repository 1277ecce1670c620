package expr

import (
	"strconv"
	"strings"
)

// Binding resolves a parsed expression's #names and :values and makes the
// checks DynamoDB makes with them, in its order: operands before the
// operator that takes them (the number of operands, their types, a first
// operand repeated, the operator's own rules), then the count of
// operators; for update and projection expressions, every path first,
// each against the paths before it (in DynamoDB's order, the last action
// first), then the values.

// pkind is the kind of an element of a bound path.
type pkind uint8

const (
	pMap  pkind = iota // a member of a map, by name
	pList              // an element of a list, by index
	pDict              // .:value, which DynamoDB accepts and which never matches a map or a list
)

// pelem is one element of a bound path.
type pelem struct {
	kind  pkind
	name  string
	index int
	val   []byte // pDict
}

func (e pelem) equal(f pelem) bool {
	return e.kind == f.kind && e.name == f.name && e.index == f.index && string(e.val) == string(f.val)
}

func (e pelem) String() string {
	switch e.kind {
	case pList:
		return "[" + strconv.Itoa(e.index) + "]"
	case pDict:
		return attrValueString(e.val)
	}
	return e.name
}

// bpath is a document path with its names resolved.
type bpath []pelem

// String writes the path as DynamoDB's messages do: [a, b, [1]].
func (p bpath) String() string {
	var b strings.Builder
	b.WriteByte('[')
	for i, e := range p {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(e.String())
	}
	b.WriteByte(']')
	return b.String()
}

func (p bpath) equal(q bpath) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if !p[i].equal(q[i]) {
			return false
		}
	}
	return true
}

// attrValueString writes a value as DynamoDB's messages about BETWEEN do.
func attrValueString(v []byte) string {
	switch t := typeOf(v); t {
	case vS:
		return "AttributeValue: {S:" + unquote(v) + "}"
	case vNone:
		return "AttributeValue: {}"
	default:
		return "AttributeValue: {" + abbr[t] + ":" + string(v) + "}"
	}
}

// tset is a set of value types an operator takes or returns.
type tset uint8

const (
	tsS       tset = 1 << vS
	tsN       tset = 1 << vN
	tsBool    tset = 1 << vBool
	tsL       tset = 1 << vL
	tsM       tset = 1 << vM
	tsAll     tset = 0xff
	tsOrdered      = tsS | tsN
)

// opInfo is what validation knows of an operator or function.
type opInfo struct {
	name      string
	nargs     int
	more      bool // takes nargs or more
	operand   tset
	ret       tset
	allowNull bool // a missing operand is no error; and the first operand must be distinct
}

var (
	compareInfo = opInfo{nargs: 2, operand: tsOrdered, ret: tsBool, allowNull: true}
	opInfos     = map[string]opInfo{
		"=":                    {name: "=", nargs: 2, operand: tsAll, ret: tsBool, allowNull: true},
		"<>":                   {name: "<>", nargs: 2, operand: tsAll, ret: tsBool, allowNull: true},
		"BETWEEN":              {name: "BETWEEN", nargs: 3, operand: tsOrdered, ret: tsBool, allowNull: true},
		"IN":                   {name: "IN", nargs: 1, more: true, operand: tsAll, ret: tsBool, allowNull: true},
		"NOT":                  {name: "NOT", nargs: 1, operand: tsBool, ret: tsBool},
		"AND":                  {name: "AND", nargs: 2, operand: tsBool, ret: tsBool},
		"OR":                   {name: "OR", nargs: 2, operand: tsBool, ret: tsBool},
		"+":                    {name: "+", nargs: 2, operand: tsN, ret: tsN},
		"-":                    {name: "-", nargs: 2, operand: tsN, ret: tsN},
		"attribute_exists":     {name: "attribute_exists", nargs: 1, operand: tsAll, ret: tsBool, allowNull: true},
		"attribute_not_exists": {name: "attribute_not_exists", nargs: 1, operand: tsAll, ret: tsBool, allowNull: true},
		"attribute_type":       {name: "attribute_type", nargs: 2, operand: tsAll, ret: tsBool, allowNull: true},
		"contains":             {name: "contains", nargs: 2, operand: tsAll, ret: tsBool, allowNull: true},
		"begins_with":          {name: "begins_with", nargs: 2, operand: tsS, ret: tsBool, allowNull: true},
		"size":                 {name: "size", nargs: 1, operand: tsS | tsL | tsM, ret: tsN, allowNull: true},
		"if_not_exists":        {name: "if_not_exists", nargs: 2, operand: tsAll, ret: tsAll, allowNull: true},
		"list_append":          {name: "list_append", nargs: 2, operand: tsL, ret: tsL},
	}
)

func infoOf(n *node) opInfo {
	switch n.kind {
	case nAnd:
		return opInfos["AND"]
	case nOr:
		return opInfos["OR"]
	case nNot:
		return opInfos["NOT"]
	case nBetween:
		return opInfos["BETWEEN"]
	case nIn:
		return opInfos["IN"]
	case nCompare:
		if n.op == "=" || n.op == "<>" {
			return opInfos[n.op]
		}
		i := compareInfo
		i.name = n.op
		return i
	}
	return opInfos[n.op] // nArith, nCall
}

// attribute_type's type names, in DynamoDB's message's order.
const validTypes = "{N,BS,L,B,NULL,M,S,SS,NS,BOOL}"

var typeNames = map[string]bool{"N": true, "BS": true, "L": true, "B": true, "NULL": true, "M": true, "S": true, "SS": true, "NS": true, "BOOL": true}

// maxOperators is the most operators and functions an expression may have.
const maxOperators = 300

// maxIn is the most values an IN may list.
const maxIn = 100

// maxPathDepth is the deepest document path.
const maxPathDepth = 32

// bnode is a bound node of a condition or of a SET value.
type bnode struct {
	kind nodeKind
	op   string
	info opInfo
	args []*bnode
	path bpath  // nPath
	val  []byte // nValue
}

// binder binds the expressions of one request.
type binder struct {
	names  map[string]string
	values map[string][]byte
	// usedNames and usedValues count the uses of each placeholder; a
	// .:value in a path counts as a name, as in DynamoDB.
	usedNames  map[string]int
	usedValues map[string]int
	// nested are the top-level names that some path goes below.
	nested map[string]bool
	ops    int
	// uses lists the placeholders the expression being bound uses, a name
	// or value each time it is used, for the expression's size.
	uses []string
}

func newBinder(names map[string]string, values map[string][]byte) *binder {
	return &binder{names: names, values: values, usedNames: map[string]int{}, usedValues: map[string]int{}, nested: map[string]bool{}}
}

// path binds a document path.
func (b *binder) path(p path) (bpath, error) {
	if len(p) > maxPathDepth {
		return nil, msgError("The document path has too many nesting levels; nesting levels: " + strconv.Itoa(len(p)))
	}
	out := make(bpath, len(p))
	for i, e := range p {
		switch e.kind {
		case eName:
			out[i] = pelem{kind: pMap, name: e.text}
		case eIndex:
			out[i] = pelem{kind: pList, index: e.index()}
		case eNameRef:
			b.usedNames[e.text]++
			b.uses = append(b.uses, e.text)
			name, ok := b.names[e.text]
			if !ok {
				return nil, msgError("An expression attribute name used in the document path is not defined; attribute name: " + e.text)
			}
			out[i] = pelem{kind: pMap, name: name}
		case eValueRef:
			b.usedNames[e.text]++
			b.uses = append(b.uses, e.text)
			v, ok := b.values[e.text]
			if !ok {
				return nil, msgError("An expression attribute name used in the document path is not defined; attribute name: " + e.text)
			}
			out[i] = pelem{kind: pDict, val: v}
		}
	}
	if len(out) > 1 && out[0].kind == pMap {
		b.nested[out[0].name] = true
	}
	return out, nil
}

// node binds a condition or a SET value.
func (b *binder) node(n *node) (*bnode, error) {
	switch n.kind {
	case nPath:
		p, err := b.path(n.path)
		if err != nil {
			return nil, err
		}
		return &bnode{kind: nPath, path: p}, nil
	case nValue:
		b.usedValues[n.name]++
		b.uses = append(b.uses, n.name)
		v, ok := b.values[n.name]
		if !ok {
			return nil, msgError("An expression attribute value used in expression is not defined; attribute value: " + n.name)
		}
		return &bnode{kind: nValue, val: v}, nil
	}
	out := &bnode{kind: n.kind, op: n.op, info: infoOf(n), args: make([]*bnode, len(n.args))}
	for i, a := range n.args {
		x, err := b.node(a)
		if err != nil {
			return nil, err
		}
		out.args[i] = x
	}
	if err := validateOperator(out); err != nil {
		return nil, err
	}
	if b.ops++; b.ops > maxOperators {
		return nil, msgError("The expression contains too many operators; operator count: " + strconv.Itoa(b.ops))
	}
	return out, nil
}

// returnTypes is what a bound operand may be, for type checks.
func (n *bnode) returnTypes() tset {
	switch n.kind {
	case nPath:
		return tsAll
	case nValue:
		return 1 << typeOf(n.val)
	}
	return n.info.ret
}

// typeString names the types an operand may have, as DynamoDB's messages do.
func (n *bnode) typeString() string {
	switch n.kind {
	case nValue:
		return abbr[typeOf(n.val)]
	case nPath:
		return "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
	}
	switch n.info.ret {
	case tsBool:
		return "BOOL"
	case tsN:
		return "N"
	case tsL:
		return "L"
	}
	return "{NS,SS,L,BS,N,M,B,BOOL,NULL,S}"
}

func validateOperator(n *bnode) error {
	info := n.info
	if len(n.args) != info.nargs && !(info.more && len(n.args) >= info.nargs) {
		return msgError("Incorrect number of operands for operator or function; operator or function: " + info.name + ", number of operands: " + strconv.Itoa(len(n.args)))
	}
	for _, a := range n.args {
		if a.returnTypes()&info.operand == 0 {
			return msgError("Incorrect operand type for operator or function; operator or function: " + info.name + ", operand type: " + a.typeString())
		}
	}
	if info.allowNull && len(n.args) > 1 && n.args[0].kind == nPath {
		for _, a := range n.args[1:] {
			if a.kind == nPath && a.path.equal(n.args[0].path) {
				return msgError("The first operand must be distinct from the remaining operands for this operator or function; operator: " + info.name + ", first operand: " + n.args[0].path.String())
			}
		}
	}
	switch info.name {
	case "BETWEEN":
		lo, hi := n.args[1], n.args[2]
		if lo.kind == nValue && hi.kind == nValue {
			bounds := "lower bound operand: " + attrValueString(lo.val) + ", upper bound operand: " + attrValueString(hi.val)
			if typeOf(lo.val) != typeOf(hi.val) {
				return msgError("The BETWEEN operator requires same data type for lower and upper bounds; " + bounds)
			}
			if compareOrdered(lo.val, hi.val) > 0 {
				return msgError("The BETWEEN operator requires upper bound to be greater than or equal to lower bound; " + bounds)
			}
		}
	case "IN":
		if len(n.args) > maxIn+1 {
			return msgError("The IN operator is provided with too many operands; number of operands: " + strconv.Itoa(len(n.args)-1))
		}
	case "attribute_exists", "attribute_not_exists", "if_not_exists":
		if n.args[0].kind != nPath {
			return msgError("Operator or function requires a document path; operator or function: " + info.name)
		}
	case "attribute_type":
		t := n.args[1]
		if t.kind != nValue || typeOf(t.val) != vS {
			return msgError("Incorrect operand type for operator or function; operator or function: attribute_type, operand type: " + t.typeString())
		}
		if name := unquote(t.val); !typeNames[name] {
			return msgError("Invalid attribute type name found; type: " + name + ", valid types: " + validTypes)
		}
	}
	return nil
}

// ptree is a tree of document paths (a projection, or the targets of an
// update), each node's children in insertion order.
type ptree struct {
	kids []*pkid
	ord  []*pkid // kids in hash order, once the tree is complete
}

// finish computes every node's order, once no path is added any more; the
// tree is then read only, and safe to use from several goroutines.
func (t *ptree) finish() {
	t.ord = t.order()
	for _, k := range t.kids {
		if k.sub != nil {
			k.sub.finish()
		}
	}
}

// ordered returns the children in hash order.
func (t *ptree) ordered() []*pkid {
	if t.ord == nil {
		return t.order()
	}
	return t.ord
}

// pkid is a child of a ptree node: a path element and what is below it;
// sub is nil at the end of a path, where act is the update's action.
type pkid struct {
	el  pelem
	sub *ptree
	act *baction
}

// order returns the node's children in the iteration order of DynamoDB's
// hash map of them.
func (t *ptree) order() []*pkid {
	idx := hashOrder(len(t.kids), tableSize(len(t.kids)), func(i int) int32 { return elemHash(t.kids[i].el) })
	out := make([]*pkid, len(idx))
	for i, j := range idx {
		out[i] = t.kids[j]
	}
	return out
}

func (t *ptree) find(e pelem) *pkid {
	for _, k := range t.kids {
		if k.el.equal(e) {
			return k
		}
	}
	return nil
}

// insert adds a path to the tree and returns its last node, or DynamoDB's
// error when it overlaps a path in the tree (one is a prefix of the
// other) or conflicts with one (a map element where the other has a list
// element).
func (t *ptree) insert(p bpath) (*pkid, error) {
	node := t
	for depth := 0; ; depth++ {
		e := p[depth]
		k := node.find(e)
		if k == nil {
			// Path elements go into maps, lists or (.:value) neither.
			if len(node.kids) > 0 && node.order()[0].el.kind != e.kind {
				return nil, msgError("Two document paths conflict with each other; must remove or rewrite one of these paths; path one: " + p.String() + ", path two: " + node.leafPath(p[:depth]).String())
			}
			k = &pkid{el: e}
			node.kids = append(node.kids, k)
			for _, rest := range p[depth+1:] {
				nk := &pkid{el: rest}
				k.sub = &ptree{kids: []*pkid{nk}}
				k = nk
			}
			return k, nil
		}
		if k.sub == nil || depth+1 == len(p) {
			return nil, msgError("Two document paths overlap with each other; must remove or rewrite one of these paths; path one: " + p.String() + ", path two: " + node.leafPath(p[:depth]).String())
		}
		node = k.sub
	}
}

// leafPath is the path DynamoDB's messages name as the other one: prefix,
// then the first child at each level down from node.
func (t *ptree) leafPath(prefix bpath) bpath {
	out := append(bpath(nil), prefix...)
	for node := t; node != nil && len(node.kids) > 0; {
		k := node.order()[0]
		out = append(out, k.el)
		node = k.sub
	}
	return out
}

// baction is a bound update action.
type baction struct {
	kind  actKind
	path  bpath
	value *bnode // SET's value, ADD's number; nil for REMOVE
}

// update binds an update expression.
func (b *binder) update(secs []section) (*ptree, []*baction, error) {
	var list []action
	for _, s := range secs {
		list = append(list, s.actions...)
	}
	// DynamoDB takes the actions last first.
	for i, j := 0, len(list)-1; i < j; i, j = i+1, j-1 {
		list[i], list[j] = list[j], list[i]
	}
	tree := &ptree{}
	acts := make([]*baction, len(list))
	for i, a := range list {
		p, err := b.path(a.path)
		if err != nil {
			return nil, nil, err
		}
		leaf, err := tree.insert(p)
		if err != nil {
			return nil, nil, err
		}
		acts[i] = &baction{kind: a.kind, path: p}
		leaf.act = acts[i]
	}
	for i, a := range list {
		if a.value == nil {
			continue
		}
		v, err := b.node(a.value)
		if err != nil {
			return nil, nil, err
		}
		acts[i].value = v
		switch t := typeOf(v.val); {
		case a.kind == aAdd && t != vN:
			return nil, nil, msgError("Incorrect operand type for operator or function; operator: ADD, operand type: " + longName[t] + ", typeSet: ALLOWED_FOR_ADD_OPERAND")
		case a.kind == aDelete:
			// JSON has no sets, and DELETE takes only sets.
			return nil, nil, msgError("Incorrect operand type for operator or function; operator: DELETE, operand type: " + longName[t] + ", typeSet: ALLOWED_FOR_DELETE_OPERAND")
		}
	}
	tree.finish()
	return tree, acts, nil
}

// projection binds a projection expression.
func (b *binder) projection(paths []path) (*ptree, error) {
	tree := &ptree{}
	for i := len(paths) - 1; i >= 0; i-- {
		p, err := b.path(paths[i])
		if err != nil {
			return nil, err
		}
		if _, err := tree.insert(p); err != nil {
			return nil, err
		}
	}
	tree.finish()
	return tree, nil
}
