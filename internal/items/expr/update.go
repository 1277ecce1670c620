package expr

import (
	"bytes"
	"slices"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/surgehq/surge/internal/items"
)

// Applying an update: every value is computed from the item as it was
// before the update, paths included (REMOVE a[1] SET a[3] = :v sets what
// was a[3]); SET on a list index past the end appends, in index order; a
// REMOVE of what is not there does nothing; a path through something that
// is not there, or is not a map where a name follows (a list where an
// index follows), is an error.

// DynamoDB's messages for an update it cannot apply to the item.
const (
	msgPathInvalid = "The document path provided in the update expression is invalid for update"
	msgNoAttribute = "The provided expression refers to an attribute that does not exist in the item"
	msgWrongType   = "An operand in the update expression has an incorrect data type"
)

// applier applies one update to one document.
type applier struct {
	old *doc // the document before the update: every value is read in it
	// absent: there was no item; REMOVE then does nothing, as DynamoDB
	// does for an item that does not exist.
	absent bool
	// deep is how deep the values set nest in the new document, the
	// document counting as 1.
	deep int
}

// apply returns doc (a map or a list, level deep in the item) with the
// tree's actions applied.
func (a *applier) apply(t *ptree, doc []byte, level int) ([]byte, error) {
	switch typeOf(doc) {
	case vM:
		d := getDoc(doc)
		defer putDoc(d)
		return a.applyMap(t, d, level)
	case vL:
		return a.applyList(t, doc, level)
	}
	return nil, msgError(msgPathInvalid)
}

// mapPart is a member of a map being written: its name as it sorts, its
// name quoted and its value.
type mapPart struct {
	key, quoted, val []byte
}

func (a *applier) applyMap(t *ptree, d *doc, level int) ([]byte, error) {
	kids := t.ordered()
	parts := make([]mapPart, 0, len(kids)+len(d.top)+1)
	for _, k := range kids {
		if k.el.kind != pMap {
			return nil, msgError(msgPathInvalid)
		}
		v, err := a.child(k, d.member(k.el.name), level)
		if err != nil {
			return nil, err
		}
		if v != nil {
			q, _ := jsontext.AppendQuote(nil, k.el.name)
			parts = append(parts, mapPart{[]byte(k.el.name), q, v})
		}
	}
	d.member("") // index the members, if no lookup did
	for _, m := range d.top {
		changed := false
		for _, k := range kids {
			if nameIs(m.name, k.el.name) {
				changed = true
				break
			}
		}
		if !changed {
			parts = append(parts, mapPart{strBytes(m.name), m.name, m.val})
		}
	}
	return writeMap(parts), nil
}

// writeMap writes a map's members in name order, as canonical JSON keeps
// them.
func writeMap(parts []mapPart) []byte {
	if !slices.IsSortedFunc(parts, func(x, y mapPart) int { return bytes.Compare(x.key, y.key) }) {
		slices.SortFunc(parts, func(x, y mapPart) int { return bytes.Compare(x.key, y.key) })
	}
	n := 2
	for _, p := range parts {
		n += len(p.quoted) + len(p.val) + 2
	}
	out := make([]byte, 0, n)
	out = append(out, '{')
	for i, p := range parts {
		if i > 0 {
			out = append(out, ',')
		}
		out = append(out, p.quoted...)
		out = append(out, ':')
		out = append(out, p.val...)
	}
	return append(out, '}')
}

func (a *applier) applyList(t *ptree, doc []byte, level int) ([]byte, error) {
	var elems [][]byte
	eachElem(doc, func(_ int, v []byte) bool { elems = append(elems, v); return true })
	type part struct {
		index int
		val   []byte
	}
	var added []part
	done := map[int]bool{}
	for _, k := range t.ordered() {
		if k.el.kind != pList {
			return nil, msgError(msgPathInvalid)
		}
		i := k.el.index
		var cur []byte
		if i < len(elems) {
			cur = elems[i]
		}
		v, err := a.child(k, cur, level)
		if err != nil {
			return nil, err
		}
		done[i] = true
		if i < len(elems) {
			elems[i] = v // nil removes it
		} else if v != nil {
			added = append(added, part{i, v})
		}
	}
	slices.SortFunc(added, func(x, y part) int { return x.index - y.index })
	out := []byte{'['}
	first := true
	put := func(v []byte) {
		if !first {
			out = append(out, ',')
		}
		first = false
		out = append(out, v...)
	}
	for _, v := range elems {
		if v != nil {
			put(v)
		}
	}
	for _, p := range added {
		put(p.val)
	}
	return append(out, ']'), nil
}

// child returns the new value of one child of a document level deep,
// whose current value is cur (nil when missing); nil removes it.
func (a *applier) child(k *pkid, cur []byte, level int) ([]byte, error) {
	if k.sub != nil {
		if cur == nil {
			if a.absent && onlyRemoves(k.sub) {
				return nil, nil
			}
			return nil, msgError(msgPathInvalid)
		}
		return a.apply(k.sub, cur, level+1)
	}
	act := k.act
	switch act.kind {
	case aSet:
		v, err := a.value(act.value)
		a.deep = max(a.deep, level+depth(v))
		return v, err
	case aRemove:
		return nil, nil
	case aAdd:
		if cur == nil {
			return act.value.val, nil
		}
		if typeOf(cur) != vN {
			return nil, msgError(msgWrongType)
		}
		return arithmetic("+", cur, act.value.val)
	}
	return cur, nil // DELETE never binds: JSON has no sets
}

// value computes a SET value from the old document.
func (a *applier) value(n *bnode) ([]byte, error) {
	v, err := a.eval(n)
	if err == nil && v == nil {
		err = msgError(msgNoAttribute)
	}
	return v, err
}

func (a *applier) eval(n *bnode) ([]byte, error) {
	switch n.kind {
	case nPath:
		return resolveDoc(a.old, n.path), nil
	case nValue:
		return n.val, nil
	}
	args := make([][]byte, len(n.args))
	for i, x := range n.args {
		v, err := a.eval(x)
		if err != nil {
			return nil, err
		}
		args[i] = v
	}
	for _, v := range args {
		if v == nil && !n.info.allowNull {
			return nil, msgError(msgNoAttribute)
		}
		if v != nil && n.info.operand&(1<<typeOf(v)) == 0 {
			return nil, msgError(msgWrongType)
		}
	}
	switch n.op {
	case "+", "-":
		return arithmetic(n.op, args[0], args[1])
	case "list_append":
		return listAppend(args[0], args[1]), nil
	case "if_not_exists":
		if args[1] == nil {
			return nil, msgError(msgNoAttribute)
		}
		if args[0] != nil {
			return args[0], nil
		}
		return args[1], nil
	}
	return nil, msgError(msgWrongType)
}

// arithmetic adds or subtracts two numbers exactly; a result DynamoDB
// cannot store is its validation error.
func arithmetic(op string, x, y []byte) ([]byte, error) {
	a, _ := parseDecimal(string(x))
	b, _ := parseDecimal(string(y))
	r := addDecimals(a, b, op == "-")
	if msg := r.check(); msg != "" {
		return nil, msgError(msg)
	}
	return []byte(r.String()), nil
}

func listAppend(x, y []byte) []byte {
	out := make([]byte, 0, len(x)+len(y))
	out = append(out, x[:len(x)-1]...)
	if len(x) > 2 && len(y) > 2 {
		out = append(out, ',')
	}
	return append(out, y[1:]...)
}

// onlyRemoves reports whether every action below t is a REMOVE.
func onlyRemoves(t *ptree) bool {
	for _, k := range t.kids {
		if k.sub != nil && !onlyRemoves(k.sub) || k.sub == nil && k.act.kind != aRemove {
			return false
		}
	}
	return true
}

// Update is a compiled update expression.
type Update struct {
	tree      *ptree
	acts      []*baction
	key       []string
	indexKeys []string
	nested    map[string]bool
}

// Updated is the result of an update.
type Updated struct {
	// Item is the new item.
	Item items.Attributes
	// Attributes is what ReturnValues asks for, nil when DynamoDB returns
	// none: the old item (ALL_OLD), the new (ALL_NEW), or the updated
	// paths of either (UPDATED_OLD, UPDATED_NEW).
	Attributes items.Attributes
}

// Apply applies the update to old, the item (nil when there is none),
// whose key is key: a JSON object of the key attributes, which a new item
// starts from. It refuses an update of a key attribute (Options.Key) with
// DynamoDB's message; values that cannot be computed (a missing
// attribute, an operand of the wrong type, a path that does not fit the
// item) are DynamoDB's errors too.
func (u *Update) Apply(old, key items.Attributes, rv ReturnValues) (*Updated, error) {
	up, err := u.apply(old, key, rv)
	if err != nil {
		return nil, invalid(err.Error())
	}
	return up, nil
}

func (u *Update) apply(old, key items.Attributes, rv ReturnValues) (*Updated, error) {
	for _, k := range u.key {
		for _, kid := range u.tree.kids {
			if kid.el.kind == pMap && kid.el.name == k {
				return nil, plainError("One or more parameter values were invalid: Cannot update attribute " + k + ". This attribute is part of the key")
			}
		}
	}
	if err := checkNested(u.nested, u.key, u.indexKeys); err != nil {
		return nil, err
	}
	doc := []byte(old)
	absent := len(doc) == 0
	if absent {
		doc = []byte(key)
		if len(doc) == 0 {
			doc = emptyObject
		}
	}
	if typeOf(doc) != vM {
		return nil, plainError(msgPathInvalid)
	}
	a := applier{old: getDoc(doc), absent: absent}
	defer putDoc(a.old)
	nd, err := a.applyMap(u.tree, a.old, 1)
	if err != nil {
		return nil, err
	}
	if a.deep > maxNesting {
		return nil, plainError("Nesting Levels have exceeded supported limits")
	}
	up := &Updated{Item: nd}
	switch rv {
	case ReturnAllOld:
		if !absent {
			up.Attributes = old
		}
	case ReturnAllNew:
		up.Attributes = nd
	case ReturnUpdatedOld:
		if !absent {
			up.Attributes = project(u.tree, doc)
		}
	case ReturnUpdatedNew:
		up.Attributes = project(u.tree, nd)
	}
	return up, nil
}

// depth returns how deep lists and maps nest in v, v counting as 1.
func depth(v []byte) int {
	d, max := 0, 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			if i = skipString(v, i) - 1; i < 0 {
				return max
			}
		case '{', '[':
			if d++; d > max {
				max = d
			}
		case '}', ']':
			d--
		}
	}
	return max
}
