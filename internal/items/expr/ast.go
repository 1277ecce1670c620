package expr

import (
	"strconv"
	"strings"
)

// The parsed form of an expression, before names and values are bound:
// what the parse cache keeps. It keeps the parentheses as written, so that
// printing it gives an expression that parses to the same tree.

// nodeKind is the kind of a node of a condition or of a SET value.
type nodeKind uint8

const (
	nPath    nodeKind = iota // a document path
	nValue                   // an expression attribute value, :v
	nCall                    // a function call; op is the function's name
	nCompare                 // op is =, <>, <, <=, > or >=; two args
	nBetween                 // args: the operand, the lower and the upper bound
	nIn                      // args: the operand, then the list
	nAnd
	nOr
	nNot
	nArith // op is + or -; two args
)

// node is a node of a condition or of a SET value.
type node struct {
	kind  nodeKind
	op    string
	args  []*node
	path  path   // nPath
	name  string // nValue: the placeholder, ":v"
	paren bool   // written in parentheses
}

// elemKind is the kind of one element of a document path.
type elemKind uint8

const (
	eName     elemKind = iota // a name written as is
	eNameRef                  // #name, from ExpressionAttributeNames
	eValueRef                 // .:value, which DynamoDB's grammar allows after a dot
	eIndex                    // [n]
)

// elem is one element of a document path as written.
type elem struct {
	kind elemKind
	text string // the name, "#name" or ":value", or the index's digits
}

// path is a document path as written.
type path []elem

// actKind is the kind of an update action, and of its section.
type actKind uint8

const (
	aSet actKind = iota
	aRemove
	aAdd
	aDelete
)

var actNames = [...]string{aSet: "SET", aRemove: "REMOVE", aAdd: "ADD", aDelete: "DELETE"}

// action is one action of an update expression: SET path = value,
// REMOVE path, ADD path :value or DELETE path :value.
type action struct {
	kind  actKind
	path  path
	value *node // nil for REMOVE
}

// section is one clause of an update expression and its actions.
type section struct {
	kind    actKind
	actions []action
}

// String returns a path as it can be written in an expression.
func (p path) String() string {
	var b strings.Builder
	p.write(&b)
	return b.String()
}

func (p path) write(b *strings.Builder) {
	for i, e := range p {
		switch {
		case e.kind == eIndex:
			b.WriteByte('[')
			b.WriteString(e.text)
			b.WriteByte(']')
		case i > 0:
			b.WriteByte('.')
			b.WriteString(e.text)
		default:
			b.WriteString(e.text)
		}
	}
}

// String returns the node as it can be written in an expression.
func (n *node) String() string {
	var b strings.Builder
	n.write(&b)
	return b.String()
}

func (n *node) write(b *strings.Builder) {
	if n.paren {
		b.WriteByte('(')
	}
	switch n.kind {
	case nPath:
		n.path.write(b)
	case nValue:
		b.WriteString(n.name)
	case nCall:
		b.WriteString(n.op)
		b.WriteByte('(')
		for i, a := range n.args {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteByte(')')
	case nCompare, nArith:
		n.args[0].write(b)
		b.WriteByte(' ')
		b.WriteString(n.op)
		b.WriteByte(' ')
		n.args[1].write(b)
	case nBetween:
		n.args[0].write(b)
		b.WriteString(" BETWEEN ")
		n.args[1].write(b)
		b.WriteString(" AND ")
		n.args[2].write(b)
	case nIn:
		n.args[0].write(b)
		b.WriteString(" IN (")
		for i, a := range n.args[1:] {
			if i > 0 {
				b.WriteString(", ")
			}
			a.write(b)
		}
		b.WriteByte(')')
	case nAnd, nOr:
		n.args[0].write(b)
		if n.kind == nAnd {
			b.WriteString(" AND ")
		} else {
			b.WriteString(" OR ")
		}
		n.args[1].write(b)
	case nNot:
		b.WriteString("NOT ")
		n.args[0].write(b)
	}
	if n.paren {
		b.WriteByte(')')
	}
}

// printUpdate writes an update expression's sections.
func printUpdate(secs []section) string {
	var b strings.Builder
	for i, s := range secs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(actNames[s.kind])
		for j, a := range s.actions {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteByte(' ')
			a.path.write(&b)
			switch a.kind {
			case aSet:
				b.WriteString(" = ")
				a.value.write(&b)
			case aAdd, aDelete:
				b.WriteByte(' ')
				a.value.write(&b)
			}
		}
	}
	return b.String()
}

// printProjection writes a projection expression's paths.
func printProjection(paths []path) string {
	var b strings.Builder
	for i, p := range paths {
		if i > 0 {
			b.WriteString(", ")
		}
		p.write(&b)
	}
	return b.String()
}

// index returns the value of an index element, or -1 when it is beyond
// what DynamoDB takes (a Java int).
func (e elem) index() int {
	n, err := strconv.ParseInt(e.text, 10, 32)
	if err != nil {
		return -1
	}
	return int(n)
}
