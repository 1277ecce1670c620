package expr

// The parsers of the three grammars (condition, update, projection), as
// DynamoDB's grammar defines them:
//
//	condition  := operand comparator operand
//	            | operand IN ( operand {, operand} )
//	            | operand BETWEEN operand AND operand
//	            | function
//	            | ( condition )
//	            | NOT condition            (binds tighter than AND)
//	            | condition AND condition  (binds tighter than OR)
//	            | condition OR condition
//	update     := section {section};  section := SET set {, set} | REMOVE path {, path}
//	            | ADD path :v {, path :v} | DELETE path :v {, path :v}
//	set        := path = operand | path = operand (+|-) operand | path = ( ... )
//	projection := path {, path}
//	operand    := path | :v | function | ( operand )
//	function   := name ( operand {, operand} )
//	path       := (name|#n) {. (name|#n|:v) | [index]}
//
// A syntax error names the first token that cannot continue a valid
// expression, and what is near it, as DynamoDB's parser reports it:
// the previous token, the offending one and the next one, with the
// whitespace between them.

// msgError is the message of an expression's error, without the
// "Invalid XxxExpression: " prefix that the caller adds.
type msgError string

func (e msgError) Error() string { return string(e) }

const errRedundant = msgError("The expression has redundant parentheses;")

// parser parses one expression.
type parser struct {
	src  string
	toks []token
	i    int

	// DynamoDB's parser predicts which alternative a condition (or a SET
	// value) is before it parses it, looking as far ahead as it must: a
	// redundant pair of parentheses inside the part it looks through is
	// reported only once the prediction succeeds, so a syntax error there
	// wins. undecided counts the predictions open; gen tells, when one
	// closes, whether something resolved them all meanwhile.
	undecided int
	gen       int
	pending   bool
}

func newParser(src string) *parser { return &parser{src: src, toks: lex(src)} }

func (p *parser) peek() tokKind      { return p.toks[p.i].kind }
func (p *parser) peekAt(k int) token { return p.toks[min(p.i+k, len(p.toks)-1)] }
func (p *parser) text(t token) string {
	return p.src[t.start:t.end]
}

func (p *parser) next() token {
	t := p.toks[p.i]
	if t.kind != tEOF {
		p.i++
	}
	return t
}

// syntax returns the syntax error at the current token.
func (p *parser) syntax() error {
	cur := p.toks[p.i]
	tok := "<EOF>"
	if cur.kind != tEOF {
		tok = p.text(cur)
	}
	start, end := 0, len(p.src)
	if p.i > 0 {
		start = p.toks[p.i-1].start
	}
	if cur.kind != tEOF && p.toks[p.i+1].kind != tEOF {
		end = p.toks[p.i+1].end
	}
	return msgError(`Syntax error; token: "` + tok + `", near: "` + p.src[start:end] + `"`)
}

func (p *parser) expect(k tokKind) error {
	if p.peek() != k {
		return p.syntax()
	}
	p.next()
	return nil
}

// open starts a prediction; close ends it.
func (p *parser) open() int {
	p.undecided++
	return p.gen
}

func (p *parser) close(gen int) {
	if p.gen == gen {
		p.undecided--
	}
}

// resolve marks every open prediction decided and reports a redundant pair
// of parentheses met while they were open.
func (p *parser) resolve() error {
	p.undecided = 0
	p.gen++
	if p.pending {
		return errRedundant
	}
	return nil
}

// redundant is called on a pair of parentheses around parentheses.
func (p *parser) redundant() error {
	if p.undecided > 0 {
		p.pending = true
		return nil
	}
	return errRedundant
}

// finish checks that the expression ends here.
func (p *parser) finish() error {
	if p.peek() != tEOF {
		return p.syntax()
	}
	if p.pending {
		return errRedundant
	}
	return nil
}

// class is what a parsed piece of a condition can be.
type class uint8

const (
	clOperand class = iota // only an operand
	clCond                 // only a condition
	clFunc                 // a function call: an operand, or a condition on its own
)

// parseCondition parses a condition (a ConditionExpression,
// FilterExpression or KeyConditionExpression).
func parseCondition(src string) (*node, error) {
	p := newParser(src)
	n, _, err := p.cond(0, false)
	if err != nil {
		return nil, err
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return n, nil
}

// cond parses a condition at a precedence level: 0 takes OR and AND, 1
// takes AND, 2 a single one. inParen says the condition is the whole
// content of a pair of parentheses, where an operand may end it.
func (p *parser) cond(prec int, inParen bool) (*node, class, error) {
	left, cl, err := p.primary(inParen)
	if err != nil || cl == clOperand {
		return left, cl, err
	}
	for {
		kind := nAnd
		switch {
		case prec <= 1 && p.peek() == tAnd:
		case prec == 0 && p.peek() == tOr:
			kind = nOr
		default:
			return left, cl, nil
		}
		if err := p.resolve(); err != nil {
			return nil, 0, err
		}
		p.next()
		rprec := 2
		if kind == nOr {
			rprec = 1
		}
		right, _, err := p.cond(rprec, false)
		if err != nil {
			return nil, 0, err
		}
		left = &node{kind: kind, args: []*node{left, right}}
		cl = clCond
	}
}

func isComparator(k tokKind) bool { return k >= tEq && k <= tGe }

// primary parses one condition without AND or OR at its top.
func (p *parser) primary(inParen bool) (*node, class, error) {
	if p.peek() == tNot {
		if err := p.resolve(); err != nil {
			return nil, 0, err
		}
		p.next()
		x, _, err := p.cond(2, false)
		if err != nil {
			return nil, 0, err
		}
		return &node{kind: nNot, args: []*node{x}}, clCond, nil
	}
	gen := p.open()
	u, cl, err := p.unit()
	p.close(gen)
	if err != nil {
		return nil, 0, err
	}
	t := p.peek()
	if cl != clCond && (isComparator(t) || t == tIn || t == tBetween) {
		if err := p.resolve(); err != nil {
			return nil, 0, err
		}
		n, err := p.predicate(u)
		return n, clCond, err
	}
	switch {
	case cl == clOperand:
		if inParen && t == tRParen {
			return u, cl, nil
		}
		return nil, 0, p.syntax()
	case cl == clCond || t == tAnd || t == tOr || t == tEOF:
		if err := p.resolve(); err != nil {
			return nil, 0, err
		}
	}
	return u, cl, nil
}

// unit parses what starts a condition: a parenthesized condition or
// operand, a function call, a path or a value.
func (p *parser) unit() (*node, class, error) {
	switch p.peek() {
	case tLParen:
		p.next()
		x, cl, err := p.cond(0, true)
		if err != nil {
			return nil, 0, err
		}
		if err := p.closeParen(x); err != nil {
			return nil, 0, err
		}
		return x, cl, nil
	case tID, tName, tValue:
		x, err := p.operand()
		if x != nil && x.kind == nCall {
			return x, clFunc, err
		}
		return x, clOperand, err
	}
	return nil, 0, p.syntax()
}

// closeParen matches the ')' of a pair around x.
func (p *parser) closeParen(x *node) error {
	if err := p.expect(tRParen); err != nil {
		return err
	}
	if x.paren {
		if err := p.redundant(); err != nil {
			return err
		}
	}
	x.paren = true
	return nil
}

// predicate parses the rest of a comparison, IN or BETWEEN after its
// first operand.
func (p *parser) predicate(first *node) (*node, error) {
	t := p.next()
	switch {
	case isComparator(t.kind):
		r, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &node{kind: nCompare, op: p.text(t), args: []*node{first, r}}, nil
	case t.kind == tIn:
		if err := p.expect(tLParen); err != nil {
			return nil, err
		}
		args, err := p.operandList([]*node{first})
		if err != nil {
			return nil, err
		}
		return &node{kind: nIn, args: args}, nil
	default: // tBetween
		lo, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.expect(tAnd); err != nil {
			return nil, err
		}
		hi, err := p.operand()
		if err != nil {
			return nil, err
		}
		return &node{kind: nBetween, args: []*node{first, lo, hi}}, nil
	}
}

// operandList parses operand {, operand} ) after a '(' and appends them.
func (p *parser) operandList(args []*node) ([]*node, error) {
	for {
		a, err := p.operand()
		if err != nil {
			return nil, err
		}
		args = append(args, a)
		if p.peek() != tComma {
			break
		}
		p.next()
	}
	if err := p.expect(tRParen); err != nil {
		return nil, err
	}
	return args, nil
}

// operand parses a path, a value, a function call or an operand in
// parentheses.
func (p *parser) operand() (*node, error) {
	switch p.peek() {
	case tLParen:
		p.next()
		x, err := p.operand()
		if err != nil {
			return nil, err
		}
		if err := p.closeParen(x); err != nil {
			return nil, err
		}
		return x, nil
	case tID:
		if p.peekAt(1).kind == tLParen {
			name := p.text(p.next())
			p.next()
			args, err := p.operandList(nil)
			if err != nil {
				return nil, err
			}
			return &node{kind: nCall, op: name, args: args}, nil
		}
		fallthrough
	case tName:
		pa, err := p.path()
		if err != nil {
			return nil, err
		}
		return &node{kind: nPath, path: pa}, nil
	case tValue:
		return &node{kind: nValue, name: p.text(p.next())}, nil
	}
	return nil, p.syntax()
}

// path parses a document path.
func (p *parser) path() (path, error) {
	var pa path
	switch t := p.toks[p.i]; t.kind {
	case tID:
		pa = append(pa, elem{eName, p.text(t)})
	case tName:
		pa = append(pa, elem{eNameRef, p.text(t)})
	default:
		return nil, p.syntax()
	}
	p.next()
	for {
		switch p.peek() {
		case tDot:
			p.next()
			t := p.toks[p.i]
			switch t.kind {
			case tID:
				pa = append(pa, elem{eName, p.text(t)})
			case tName:
				pa = append(pa, elem{eNameRef, p.text(t)})
			case tValue:
				pa = append(pa, elem{eValueRef, p.text(t)})
			default:
				return nil, p.syntax()
			}
			p.next()
		case tLBracket:
			p.next()
			t := p.toks[p.i]
			if t.kind != tIndex {
				return nil, p.syntax()
			}
			p.next()
			if err := p.expect(tRBracket); err != nil {
				return nil, err
			}
			pa = append(pa, elem{eIndex, p.text(t)})
		default:
			return pa, nil
		}
	}
}

// parseUpdate parses an update expression.
func parseUpdate(src string) ([]section, error) {
	p := newParser(src)
	var secs []section
	for {
		var kind actKind
		switch p.peek() {
		case tSet:
			kind = aSet
		case tRemove:
			kind = aRemove
		case tAdd:
			kind = aAdd
		case tDelete:
			kind = aDelete
		default:
			if len(secs) == 0 {
				return nil, p.syntax()
			}
			if err := p.finish(); err != nil {
				return nil, err
			}
			return secs, nil
		}
		p.next()
		sec := section{kind: kind}
		for {
			a, err := p.action(kind)
			if err != nil {
				return nil, err
			}
			sec.actions = append(sec.actions, a)
			if p.peek() != tComma {
				break
			}
			p.next()
		}
		secs = append(secs, sec)
	}
}

func (p *parser) action(kind actKind) (action, error) {
	a := action{kind: kind}
	var err error
	if a.path, err = p.path(); err != nil {
		return a, err
	}
	switch kind {
	case aSet:
		if err := p.expect(tEq); err != nil {
			return a, err
		}
		a.value, err = p.setValue()
	case aAdd, aDelete:
		if p.peek() != tValue {
			return a, p.syntax()
		}
		a.value = &node{kind: nValue, name: p.text(p.next())}
	}
	return a, err
}

func isSectionEnd(k tokKind) bool {
	return k == tComma || k == tEOF || k == tSet || k == tRemove || k == tAdd || k == tDelete
}

// setValue parses the value of a SET action: an operand, or two operands
// added or subtracted, or such a sum in parentheses.
func (p *parser) setValue() (*node, error) {
	gen := p.open()
	u, arith, err := p.setUnit()
	p.close(gen)
	if err != nil {
		return nil, err
	}
	t := p.peek()
	if !arith && (t == tPlus || t == tMinus) {
		return p.arith(u)
	}
	if isSectionEnd(t) {
		if err := p.resolve(); err != nil {
			return nil, err
		}
	}
	return u, nil
}

// setUnit parses an operand or a parenthesized SET value; arith says it
// is a sum.
func (p *parser) setUnit() (*node, bool, error) {
	if p.peek() != tLParen {
		x, err := p.operand()
		return x, false, err
	}
	p.next()
	gen := p.open()
	u, arith, err := p.setUnit()
	p.close(gen)
	if err != nil {
		return nil, false, err
	}
	if t := p.peek(); !arith && (t == tPlus || t == tMinus) {
		if u, err = p.arith(u); err != nil {
			return nil, false, err
		}
		arith = true
	}
	if err := p.closeParen(u); err != nil {
		return nil, false, err
	}
	return u, arith, nil
}

// arith parses "+ operand" or "- operand" after the first operand.
func (p *parser) arith(first *node) (*node, error) {
	if err := p.resolve(); err != nil {
		return nil, err
	}
	op := p.text(p.next())
	r, err := p.operand()
	if err != nil {
		return nil, err
	}
	return &node{kind: nArith, op: op, args: []*node{first, r}}, nil
}

// parseProjection parses a projection expression.
func parseProjection(src string) ([]path, error) {
	p := newParser(src)
	var paths []path
	for {
		pa, err := p.path()
		if err != nil {
			return nil, err
		}
		paths = append(paths, pa)
		if p.peek() != tComma {
			break
		}
		p.next()
	}
	if err := p.finish(); err != nil {
		return nil, err
	}
	return paths, nil
}
