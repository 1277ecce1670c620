package postman

// The parser reads statements and expressions of the JavaScript subset
// that collections' scripts use into a small syntax tree. What it cannot
// parse becomes an unknown statement spanning its lines, which the
// recogniser reports; it never fails.

type node interface{}

type (
	nIdent  struct{ name string }
	nLit    struct{ lit literal }
	nRegex  struct{ pat, flags string }
	nArray  struct{ elems []node }
	nObject struct{ empty bool }
	nMember struct {
		obj  node
		name string
	}
	nIndex struct{ obj, idx node }
	nCall  struct {
		fn   node
		args []node
	}
	nUnary struct {
		op string
		x  node
	}
	nBinary struct {
		op   string
		x, y node
	}
	// nFunc is a function expression or an arrow function; an arrow
	// function with an expression body has it as one statement.
	nFunc    struct{ body []stmt }
	nTernary struct{ cond, a, b node }
	nBad     struct{}
)

type stmtKind uint8

const (
	sExpr stmtKind = iota
	sVar
	sIf
	sTry
	sBlock
	sUnknown
)

type decl struct {
	name string
	init node // nil: declared without a value
}

type stmt struct {
	kind      stmtKind
	line, end int // first and last line
	expr      node
	decls     []decl
	cond      node
	then      []stmt
	els       []stmt
	elseLine  int
	elseEnd   int
	body      []stmt
	catch     []stmt
	catchLine int
	catchEnd  int
	finally   []stmt
}

// maxNesting bounds the parser's recursion, so a pathological script
// cannot exhaust the stack.
const maxNesting = 200

type parser struct {
	toks  []token
	pos   int
	bad   bool
	depth int
	// match is the index of the bracket that closes each opening one, -1
	// when none does: arrow functions are told apart in constant time.
	match []int
}

func (p *parser) peek() token { return p.toks[p.pos] }

func (p *parser) peekAt(n int) token {
	if p.pos+n < len(p.toks) {
		return p.toks[p.pos+n]
	}
	return p.toks[len(p.toks)-1]
}

func (p *parser) next() token {
	t := p.toks[p.pos]
	if t.kind != tEOF {
		p.pos++
	}
	return t
}

func (p *parser) isPunct(s string) bool {
	t := p.peek()
	return t.kind == tPunct && t.text == s
}

func (p *parser) isWord(s string) bool {
	t := p.peek()
	return t.kind == tIdent && t.text == s
}

func (p *parser) accept(s string) bool {
	if p.isPunct(s) {
		p.next()
		return true
	}
	return false
}

func (p *parser) expect(s string) {
	if !p.accept(s) {
		p.bad = true
	}
}

// prevLine is the line of the last token consumed.
func (p *parser) prevLine() int {
	if p.pos == 0 {
		return p.toks[0].line
	}
	return p.toks[p.pos-1].line
}

func parseScript(src string) []stmt {
	p := &parser{toks: lex(src)}
	p.match = make([]int, len(p.toks))
	var open []int
	for i, t := range p.toks {
		p.match[i] = -1
		if t.kind != tPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			open = append(open, i)
		case ")", "]", "}":
			if n := len(open); n > 0 {
				p.match[open[n-1]] = i
				open = open[:n-1]
			}
		}
	}
	return p.statements(false)
}

// statements parses until EOF, or until '}' when inBlock (which it leaves).
func (p *parser) statements(inBlock bool) []stmt {
	var out []stmt
	for {
		t := p.peek()
		if t.kind == tEOF || inBlock && t.kind == tPunct && t.text == "}" {
			return out
		}
		start := p.pos
		s := p.statement()
		if p.pos == start {
			// Nothing consumed: skip a token, as an unknown statement.
			p.next()
			s = stmt{kind: sUnknown, line: t.line, end: t.line}
		}
		if s.kind == sExpr && s.expr == nil {
			continue // an empty statement
		}
		out = append(out, s)
	}
}

func (p *parser) statement() stmt {
	t := p.peek()
	start := p.pos
	// A statement inside a function expression must not clear an error of
	// the expression around it.
	outer := p.bad
	p.bad = false
	if p.depth++; p.depth > maxNesting {
		p.depth--
		p.bad = outer
		return p.skipStatement(start)
	}
	defer func() { p.depth--; p.bad = outer }()
	switch {
	case t.kind == tPunct && t.text == ";":
		p.next()
		return stmt{kind: sExpr}
	case t.kind == tPunct && t.text == "{":
		p.next()
		body := p.statements(true)
		p.expect("}")
		return stmt{kind: sBlock, line: t.line, end: p.prevLine(), body: body}
	case t.kind == tIdent:
		switch t.text {
		case "var", "let", "const":
			return p.varStatement(start)
		case "if":
			return p.ifStatement(start)
		case "try":
			return p.tryStatement(start)
		case "for", "while", "switch", "with", "do", "function", "class", "return",
			"throw", "break", "continue", "async", "import", "export":
			return p.skipStatement(start)
		}
	}
	e := p.expression()
	if p.bad || !p.statementEnd() {
		return p.skipStatement(start)
	}
	return stmt{kind: sExpr, line: t.line, end: p.prevLine(), expr: e}
}

// statementEnd consumes a ';' or accepts the end of a line, a '}' or the
// end of the script as the end of a statement.
func (p *parser) statementEnd() bool {
	if p.accept(";") {
		return true
	}
	t := p.peek()
	return t.kind == tEOF || t.nl || t.kind == tPunct && t.text == "}"
}

// skipStatement moves past the statement that starts at token start:
// through balanced brackets, to a ';' or a line break that JavaScript
// would end it at, and reports it as unknown.
func (p *parser) skipStatement(start int) stmt {
	p.pos = start
	first := p.peek()
	if first.kind == tEOF {
		// The script ended where a statement was due ("if (a)" at its
		// end): the missing statement belongs to the last line read.
		l := p.prevLine()
		return stmt{kind: sUnknown, line: l, end: l}
	}
	depth := 0
	for {
		t := p.peek()
		if t.kind == tEOF {
			break
		}
		if depth == 0 && p.pos > start {
			if t.kind == tPunct && t.text == "}" {
				break
			}
			prev := p.toks[p.pos-1]
			if t.nl && !continues(prev, t) {
				break
			}
		}
		p.next()
		if t.kind != tPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			if depth > 0 {
				depth--
			}
			if depth == 0 && t.text == "}" && p.peek().nl {
				// A block closed at the end of its line ends the statement
				// (function, for, while, if without more).
				if n := p.peek(); !(n.kind == tIdent && (n.text == "else" || n.text == "catch" || n.text == "finally" || n.text == "while")) &&
					!(n.kind == tPunct && (n.text == ")" || n.text == "." || n.text == ",")) {
					return stmt{kind: sUnknown, line: first.line, end: t.line}
				}
			}
		case ";":
			if depth == 0 {
				return stmt{kind: sUnknown, line: first.line, end: t.line}
			}
		}
	}
	return stmt{kind: sUnknown, line: first.line, end: p.prevLine()}
}

// continues reports whether a statement goes on from prev across a line
// break to next.
func continues(prev, next token) bool {
	if next.kind == tPunct {
		switch next.text {
		case ".", "?.", ")", "]", ",", "&&", "||", "??", "+", "-", "*", "/", "=", "==", "===", "!=", "!==",
			"<", ">", "<=", ">=", "?", ":", "=>":
			return true
		}
	}
	if prev.kind == tPunct {
		switch prev.text {
		case ")", "]", "}", "++", "--":
			return false
		}
		return true
	}
	return prev.kind == tIdent && (prev.text == "return" || prev.text == "typeof" || prev.text == "new" ||
		prev.text == "in" || prev.text == "instanceof")
}

func (p *parser) varStatement(start int) stmt {
	first := p.next()
	s := stmt{kind: sVar, line: first.line}
	for {
		name := p.next()
		if name.kind != tIdent {
			return p.skipStatement(start)
		}
		d := decl{name: name.text}
		if p.accept("=") {
			d.init = p.assignment()
		}
		s.decls = append(s.decls, d)
		if !p.accept(",") {
			break
		}
	}
	if p.bad || !p.statementEnd() {
		return p.skipStatement(start)
	}
	s.end = p.prevLine()
	return s
}

func (p *parser) ifStatement(start int) stmt {
	first := p.next()
	p.expect("(")
	cond := p.expression()
	p.expect(")")
	if p.bad {
		return p.skipStatement(start)
	}
	s := stmt{kind: sIf, line: first.line, cond: cond}
	s.then = p.blockOrStatement()
	s.end = p.prevLine()
	if p.isWord("else") {
		s.elseLine = p.next().line
		s.els = p.blockOrStatement()
		s.elseEnd = p.prevLine()
	}
	return s
}

func (p *parser) blockOrStatement() []stmt {
	if p.accept("{") {
		body := p.statements(true)
		p.expect("}")
		return body
	}
	s := p.statement()
	return []stmt{s}
}

func (p *parser) tryStatement(start int) stmt {
	first := p.next()
	if !p.accept("{") {
		return p.skipStatement(start)
	}
	s := stmt{kind: sTry, line: first.line}
	s.body = p.statements(true)
	p.expect("}")
	if p.isWord("catch") {
		s.catchLine = p.next().line
		if p.accept("(") {
			p.next()
			p.expect(")")
		}
		if !p.accept("{") {
			return p.skipStatement(start)
		}
		s.catch = p.statements(true)
		p.expect("}")
		s.catchEnd = p.prevLine()
	}
	if p.isWord("finally") {
		p.next()
		if !p.accept("{") {
			return p.skipStatement(start)
		}
		s.finally = p.statements(true)
		p.expect("}")
	}
	if p.bad {
		return p.skipStatement(start)
	}
	s.end = p.prevLine()
	return s
}

// expression parses a comma-free expression (assignments included).
func (p *parser) expression() node { return p.assignment() }

func (p *parser) enter() bool {
	p.depth++
	if p.depth > maxNesting {
		p.bad = true
		return false
	}
	return true
}

func (p *parser) assignment() node {
	if !p.enter() {
		p.depth--
		return nBad{}
	}
	defer func() { p.depth-- }()
	x := p.ternary()
	t := p.peek()
	if t.kind == tPunct {
		switch t.text {
		case "=":
			p.next()
			return nBinary{op: "=", x: x, y: p.assignment()}
		case "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "**=", "<<=", ">>=", ">>>=":
			p.next()
			p.assignment()
			return nBad{}
		}
	}
	return x
}

func (p *parser) ternary() node {
	c := p.binary(0)
	if p.accept("?") {
		a := p.assignment()
		p.expect(":")
		b := p.assignment()
		return nTernary{cond: c, a: a, b: b}
	}
	return c
}

// binaryPrec gives each binary operator its precedence; higher binds
// tighter.
var binaryPrec = map[string]int{
	"||": 1, "??": 1,
	"&&": 2,
	"|":  3, "^": 4, "&": 5,
	"==": 6, "!=": 6, "===": 6, "!==": 6,
	"<": 7, ">": 7, "<=": 7, ">=": 7, "in": 7, "instanceof": 7,
	"<<": 8, ">>": 8, ">>>": 8,
	"+": 9, "-": 9,
	"*": 10, "/": 10, "%": 10, "**": 11,
}

func (p *parser) binary(min int) node {
	if !p.enter() {
		p.depth--
		return nBad{}
	}
	defer func() { p.depth-- }()
	x := p.unary()
	for {
		t := p.peek()
		if t.kind != tPunct && !(t.kind == tIdent && (t.text == "in" || t.text == "instanceof")) {
			return x
		}
		prec, ok := binaryPrec[t.text]
		if !ok || prec <= min {
			return x
		}
		p.next()
		y := p.binary(prec)
		x = nBinary{op: t.text, x: x, y: y}
	}
}

func (p *parser) unary() node {
	t := p.peek()
	if t.kind == tPunct && (t.text == "!" || t.text == "-" || t.text == "+" || t.text == "~") ||
		t.kind == tIdent && (t.text == "typeof" || t.text == "void" || t.text == "delete" || t.text == "await") {
		p.next()
		if !p.enter() {
			p.depth--
			return nBad{}
		}
		x := p.unary()
		p.depth--
		return nUnary{op: t.text, x: x}
	}
	if t.kind == tIdent && t.text == "new" {
		p.next()
		p.postfix(p.primary())
		return nBad{}
	}
	return p.postfix(p.primary())
}

func (p *parser) postfix(x node) node {
	for {
		t := p.peek()
		if t.kind != tPunct {
			return x
		}
		switch t.text {
		case ".", "?.":
			p.next()
			name := p.next()
			if name.kind != tIdent {
				p.bad = true
				return nBad{}
			}
			x = nMember{obj: x, name: name.text}
		case "[":
			p.next()
			idx := p.expression()
			p.expect("]")
			x = nIndex{obj: x, idx: idx}
		case "(":
			p.next()
			x = nCall{fn: x, args: p.arguments()}
		case "++", "--":
			if t.nl {
				return x
			}
			p.next()
			return nBad{}
		default:
			return x
		}
		if p.bad {
			return nBad{}
		}
	}
}

// arguments parses call arguments after '(' through ')'.
func (p *parser) arguments() []node {
	var args []node
	for !p.isPunct(")") {
		if p.peek().kind == tEOF {
			p.bad = true
			return args
		}
		args = append(args, p.assignment())
		if p.bad {
			return args
		}
		if !p.accept(",") {
			break
		}
	}
	p.expect(")")
	return args
}

func (p *parser) primary() node {
	t := p.peek()
	switch t.kind {
	case tIdent:
		switch t.text {
		case "true", "false":
			p.next()
			return nLit{literal{kind: litBool, b: t.text == "true"}}
		case "null":
			p.next()
			return nLit{literal{kind: litNull}}
		case "undefined":
			p.next()
			return nLit{literal{kind: litUndefined}}
		case "function":
			return p.function()
		case "async":
			p.next()
			return p.primary()
		}
		p.next()
		if p.isPunct("=>") {
			return p.arrowBody()
		}
		return nIdent{name: t.text}
	case tNum:
		p.next()
		n, ok := parseJSNumber(t.text)
		if !ok {
			return nBad{}
		}
		return nLit{literal{kind: litNumber, n: n}}
	case tStr:
		p.next()
		return nLit{literal{kind: litString, s: t.text}}
	case tTemplate:
		p.next()
		return nBad{}
	case tRegex:
		p.next()
		return nRegex{pat: t.text, flags: t.flags}
	case tPunct:
		switch t.text {
		case "(":
			if p.isArrowParams() {
				p.skipBalanced()
				return p.arrowBody()
			}
			p.next()
			x := p.expression()
			p.expect(")")
			return x
		case "[":
			p.next()
			var elems []node
			for !p.isPunct("]") && p.peek().kind != tEOF {
				elems = append(elems, p.assignment())
				if p.bad || !p.accept(",") {
					break
				}
			}
			p.expect("]")
			return nArray{elems: elems}
		case "{":
			p.next()
			empty := p.isPunct("}")
			p.skipUntilClose("}")
			return nObject{empty: empty}
		}
	}
	p.bad = true
	return nBad{}
}

// isArrowParams reports whether the '(' at the current token opens an
// arrow function's parameters: its ')' is followed by '=>'.
func (p *parser) isArrowParams() bool {
	end := p.match[p.pos]
	if end < 0 || end+1 >= len(p.toks) {
		return false
	}
	n := p.toks[end+1]
	return n.kind == tPunct && n.text == "=>"
}

// skipBalanced consumes a bracketed group starting at the current token.
func (p *parser) skipBalanced() {
	open := p.next().text
	closer := map[string]string{"(": ")", "[": "]", "{": "}"}[open]
	p.skipUntilClose(closer)
}

// skipUntilClose consumes tokens through the closer that balances an
// opener already consumed.
func (p *parser) skipUntilClose(closer string) {
	depth := 1
	for {
		t := p.next()
		if t.kind == tEOF {
			p.bad = true
			return
		}
		if t.kind != tPunct {
			continue
		}
		switch t.text {
		case "(", "[", "{":
			depth++
		case ")", "]", "}":
			depth--
			if depth == 0 {
				if t.text != closer {
					p.bad = true
				}
				return
			}
		}
	}
}

// arrowBody parses what follows '=>'.
func (p *parser) arrowBody() node {
	p.expect("=>")
	if p.accept("{") {
		body := p.statements(true)
		p.expect("}")
		return nFunc{body: body}
	}
	line := p.peek().line
	e := p.assignment()
	return nFunc{body: []stmt{{kind: sExpr, line: line, end: p.prevLine(), expr: e}}}
}

func (p *parser) function() node {
	p.next() // function
	if p.peek().kind == tIdent {
		p.next()
	}
	if !p.isPunct("(") {
		p.bad = true
		return nBad{}
	}
	p.skipBalanced()
	if !p.accept("{") {
		p.bad = true
		return nBad{}
	}
	body := p.statements(true)
	p.expect("}")
	return nFunc{body: body}
}
