package expr

import "strings"

// The checks DynamoDB makes on a parsed expression before it looks at the
// names and values: function names and where functions may be used,
// reserved words used as names, list indexes, and SET, REMOVE, ADD and
// DELETE used once each. It makes them walking the parse tree in the
// order of the text, and reports the first it meets; so does walk.

// fnInfo describes a function of the expression language.
type fnInfo struct {
	nargs int
	// cond: a function of conditions; otherwise of SET values.
	cond bool
	// boolean: it returns a boolean, so it is a condition on its own.
	boolean bool
	// nestable: it may be the operand of an operator or function.
	nestable bool
}

var functions = map[string]fnInfo{
	"attribute_exists":     {nargs: 1, cond: true, boolean: true},
	"attribute_not_exists": {nargs: 1, cond: true, boolean: true},
	"attribute_type":       {nargs: 2, cond: true, boolean: true},
	"begins_with":          {nargs: 2, cond: true, boolean: true},
	"contains":             {nargs: 2, cond: true, boolean: true},
	"size":                 {nargs: 1, cond: true, nestable: true},
	"if_not_exists":        {nargs: 2, nestable: true},
	"list_append":          {nargs: 2},
}

// walker walks a parsed expression in text order.
type walker struct {
	update bool // an update expression: SET values, not conditions
	level  int  // operators and functions the walk is inside
}

func (w *walker) cond(n *node) error {
	switch n.kind {
	case nAnd, nOr, nNot:
		for _, a := range n.args {
			if err := w.cond(a); err != nil {
				return err
			}
		}
		return nil
	case nCall:
		return w.call(n)
	}
	// A comparison, BETWEEN or IN.
	w.level++
	defer func() { w.level-- }()
	for _, a := range n.args {
		if err := w.operand(a); err != nil {
			return err
		}
	}
	return nil
}

func (w *walker) operand(n *node) error {
	switch n.kind {
	case nPath:
		return checkPath(n.path)
	case nCall:
		return w.call(n)
	case nArith:
		w.level++
		defer func() { w.level-- }()
		for _, a := range n.args {
			if err := w.operand(a); err != nil {
				return err
			}
		}
	}
	return nil
}

func (w *walker) call(n *node) error {
	fn, ok := functions[n.op]
	if !ok {
		return msgError("Invalid function name; function: " + n.op)
	}
	switch {
	case w.update && fn.cond:
		return msgError("The function is not allowed in an update expression; function: " + n.op)
	case !w.update && !fn.cond:
		return msgError("The function is not allowed in a condition expression; function: " + n.op)
	case !w.update && w.level == 0 && !fn.boolean, w.level > 0 && !fn.nestable:
		return msgError("The function is not allowed to be used this way in an expression; function: " + n.op)
	}
	w.level++
	defer func() { w.level-- }()
	for _, a := range n.args {
		if err := w.operand(a); err != nil {
			return err
		}
	}
	return nil
}

// checkPath checks a path's names against the reserved words and its
// indexes against the range DynamoDB takes.
func checkPath(p path) error {
	for _, e := range p {
		switch e.kind {
		case eName:
			if reserved()[strings.ToLower(e.text)] {
				return msgError("Attribute name is a reserved keyword; reserved keyword: " + e.text)
			}
		case eIndex:
			if e.index() < 0 {
				return msgError("List index is not within the allowable range; index: [" + e.text + "]")
			}
		}
	}
	return nil
}

// walkCondition makes the checks on a condition. A function on its own
// must return a boolean (size does not): the walk meets it at level 0.
func walkCondition(n *node) error {
	w := walker{}
	return w.cond(n)
}

// walkUpdate makes the checks on an update expression.
func walkUpdate(secs []section) error {
	w := walker{update: true}
	var seen [4]bool
	for _, s := range secs {
		for _, a := range s.actions {
			if err := checkPath(a.path); err != nil {
				return err
			}
			if a.kind == aSet {
				if err := w.operand(a.value); err != nil {
					return err
				}
			}
		}
		if seen[s.kind] {
			return msgError(`The "` + actNames[s.kind] + `" section can only be used once in an update expression;`)
		}
		seen[s.kind] = true
	}
	return nil
}

// walkProjection makes the checks on a projection expression.
func walkProjection(paths []path) error {
	for _, p := range paths {
		if err := checkPath(p); err != nil {
			return err
		}
	}
	return nil
}
