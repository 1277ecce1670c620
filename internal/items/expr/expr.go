// Package expr is DynamoDB's expression language over surge's items:
// condition and filter expressions, update expressions, projection
// expressions and key condition expressions, with expression attribute
// names (#n) and values (:v), parsed, checked and evaluated as DynamoDB
// does, and refused with DynamoDB's ValidationException messages.
//
// A request's expressions are compiled together, since DynamoDB checks
// them together (a name or value unused by all of them is an error):
//
//	ex, err := expr.Compile(expr.UpdateItem, req, expr.Options{Key: []string{"id"}})
//	...                                   // read the item
//	if err := ex.Condition.Check(old); err != nil { ... } // ErrConditionalCheckFailed
//	up, err := ex.Update.Apply(old, key, rv) // up.Item is the new item
//
// Items are JSON objects in surge's canonical form (items.Attributes, or a
// whole item as items.Item.AppendJSON writes it); a nil item is an absent
// one. Values are JSON too, so an expression attribute value is a string
// (S), an exact number (N), a boolean, null, a list (L) or a map (M).
// JSON has no sets and no binary: a payload cannot carry them, ADD takes
// numbers and DELETE, which takes only sets, is refused with DynamoDB's
// own message for the operand's type ("operator: DELETE, operand type:
// LIST, typeSet: ALLOWED_FOR_DELETE_OPERAND"), as DynamoDB refuses a list.
//
// Errors are *items.Error with code items.EINVALID and DynamoDB's message,
// such as "Invalid UpdateExpression: Syntax error; token: \"=\", near:
// \"a = = b\"". A condition that does not hold is ErrConditionalCheckFailed.
// DynamoDB's limits apply: expressions of 4 KB, names and values maps of 2
// MB, document paths 32 deep, 300 operators, 100 values in an IN.
package expr

import (
	"errors"

	"github.com/surgehq/surge/internal/items"
)

// Op is the DynamoDB operation whose expressions a request carries. It
// says which expressions the request may have, in what order DynamoDB
// checks them, and how its messages name them.
type Op uint8

// The operations.
const (
	GetItem Op = iota + 1
	PutItem
	UpdateItem
	DeleteItem
	Query
	Scan
)

var opNames = [...]string{GetItem: "GetItem", PutItem: "PutItem", UpdateItem: "UpdateItem", DeleteItem: "DeleteItem", Query: "Query", Scan: "Scan"}

// String returns the operation's name.
func (o Op) String() string {
	if int(o) < len(opNames) && opNames[o] != "" {
		return opNames[o]
	}
	return "unknown"
}

// ErrConditionalCheckFailed is returned when a condition expression does
// not hold: DynamoDB's ConditionalCheckFailedException. Test for it with
// errors.Is. Its code is items.EPRECONDITION.
var ErrConditionalCheckFailed = &items.Error{Code: items.EPRECONDITION, Message: "The conditional request failed"}

// IsConditionalCheckFailed reports whether err is ErrConditionalCheckFailed.
func IsConditionalCheckFailed(err error) bool { return errors.Is(err, ErrConditionalCheckFailed) }

// invalid returns a validation error with DynamoDB's message.
func invalid(msg string) error { return &items.Error{Code: items.EINVALID, Message: msg} }

// plainError is a message that is not about one expression, so has no
// "Invalid XxxExpression: " prefix.
type plainError string

func (e plainError) Error() string { return string(e) }

// ReturnValues is what an UpdateItem (or PutItem, DeleteItem) returns of
// the item.
type ReturnValues string

// The ReturnValues of DynamoDB.
const (
	ReturnNone       ReturnValues = "NONE"
	ReturnAllOld     ReturnValues = "ALL_OLD"
	ReturnUpdatedOld ReturnValues = "UPDATED_OLD"
	ReturnAllNew     ReturnValues = "ALL_NEW"
	ReturnUpdatedNew ReturnValues = "UPDATED_NEW"
)

// ParseReturnValues checks a request's ReturnValues for op ("" is NONE),
// with DynamoDB's messages: PutItem and DeleteItem take only NONE and
// ALL_OLD.
func ParseReturnValues(op Op, s string) (ReturnValues, error) {
	switch rv := ReturnValues(s); rv {
	case "":
		return ReturnNone, nil
	case ReturnNone, ReturnAllOld:
		return rv, nil
	case ReturnUpdatedOld, ReturnAllNew, ReturnUpdatedNew:
		if op == UpdateItem {
			return rv, nil
		}
		return "", invalid("ReturnValues can only be ALL_OLD or NONE")
	}
	return "", invalid("1 validation error detected: Value '" + s + "' at 'returnValues' failed to satisfy constraint: " +
		"Member must satisfy enum value set: [ALL_NEW, UPDATED_OLD, ALL_OLD, NONE, UPDATED_NEW]")
}

// Condition is a compiled condition or filter expression.
type Condition struct {
	root   *bnode
	text   string
	nested map[string]bool
}

// Match reports whether item satisfies the condition. A nil item is an
// absent one, whose attributes are all missing. A nil Condition matches
// every item.
func (c *Condition) Match(item items.Attributes) bool {
	if c == nil {
		return true
	}
	d := getDoc(item)
	defer putDoc(d)
	return holds(c.root, d)
}

// Check returns ErrConditionalCheckFailed unless item satisfies the
// condition (see Match).
func (c *Condition) Check(item items.Attributes) error {
	if c.Match(item) {
		return nil
	}
	return ErrConditionalCheckFailed
}

// String returns the condition as it was parsed.
func (c *Condition) String() string { return c.text }

// Projection is a compiled projection expression.
type Projection struct {
	tree   *ptree
	nested map[string]bool
}

// Apply returns the attributes of item that the projection names, nested
// as they are in the item, in canonical form: {} when there are none.
func (p *Projection) Apply(item items.Attributes) items.Attributes {
	if p == nil {
		return item
	}
	if out := project(p.tree, item); out != nil {
		return out
	}
	return items.Attributes("{}")
}
