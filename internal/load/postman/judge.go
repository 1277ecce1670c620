package postman

import (
	"math/rand/v2"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Response is what captures and checks read of a response: the status,
// the headers, the body and how long the request took. Its slices are only
// read, never kept.
type Response struct {
	Status  int
	Header  HeaderPeeker
	Body    []byte
	Elapsed time.Duration
}

// HeaderPeeker returns the first value of a response header, nil when
// absent. *fasthttp.ResponseHeader is one; HTTPHeader adapts an
// http.Header.
type HeaderPeeker interface {
	Peek(name string) []byte
}

// HTTPHeader adapts net/http's headers to HeaderPeeker.
type HTTPHeader http.Header

// Peek returns the first value of the header name, nil when absent.
func (h HTTPHeader) Peek(name string) []byte {
	v := http.Header(h).Values(name)
	if len(v) == 0 {
		return nil
	}
	return []byte(v[0])
}

// Action is one step of a request's scripts, in script order: a capture
// or a check. Captures come before the checks that read what they set,
// as in the script.
type Action struct {
	Capture *Capture
	Check   *Check
}

// Target is the variable scope a capture writes to.
type Target uint8

// The scopes, from the narrowest: a variable is looked up in this order.
const (
	// Local is pm.variables: the run's own variables, which win over all.
	Local Target = iota
	// Environment is pm.environment and the --postman-env file.
	Environment
	// CollectionVars is pm.collectionVariables and the collection's
	// variables.
	CollectionVars
	// Global is pm.globals and the --postman-globals file.
	Global
	numTargets
)

var targetNames = [numTargets]string{"variables", "environment", "collectionVariables", "globals"}

// String returns the scope as scripts name it (pm.<name>).
func (t Target) String() string {
	if t < numTargets {
		return targetNames[t]
	}
	return "target(" + strconv.Itoa(int(t)) + ")"
}

// subjectKind is what part of a response a capture or check reads.
type subjectKind uint8

const (
	subStatus     subjectKind = iota // pm.response.code
	subStatusText                    // pm.response.status: the reason phrase
	subBody                          // pm.response.json() at a path
	subText                          // pm.response.text()
	subHeader                        // pm.response.headers.get(name)
	subTime                          // pm.response.responseTime, in ms
	subVar                           // pm.environment.get(name) and the like
)

// xform is a string method applied to a value: split(sep) then an element,
// trim, a case change or a replace.
type xform struct {
	op       byte // 's' split+index, 't' trim, 'l' lower, 'u' upper, 'r' replace
	a, b     string
	index    int // split: the element; -1 is the last (pop)
	hasIndex bool
}

// subject is a value read from the response.
type subject struct {
	kind   subjectKind
	path   []string // subBody: jsonparser keys; "[0]" indexes an array
	header string
	// subVar: the variable, its scope, and whether any scope will do
	// (pm.variables.get).
	name   string
	target Target
	any    bool
	length bool // .length of the value
	// stringify is JSON.stringify(value): the value's JSON text.
	stringify bool
	xf        []xform
}

func (s subject) String() string {
	var b strings.Builder
	switch s.kind {
	case subStatus:
		b.WriteString("status")
	case subStatusText:
		b.WriteString("status text")
	case subBody:
		b.WriteString("body")
		for _, k := range s.path {
			if strings.HasPrefix(k, "[") {
				b.WriteString(k)
			} else {
				b.WriteString(".")
				b.WriteString(k)
			}
		}
	case subText:
		b.WriteString("body text")
	case subHeader:
		b.WriteString("header ")
		b.WriteString(s.header)
	case subTime:
		b.WriteString("response time")
	case subVar:
		b.WriteString("{{" + s.name + "}}")
	}
	for _, x := range s.xf {
		switch x.op {
		case 's':
			b.WriteString(".split(" + strconv.Quote(x.a) + ")")
			if x.index < 0 {
				b.WriteString(".pop()")
			} else {
				b.WriteString("[" + strconv.Itoa(x.index) + "]")
			}
		case 't':
			b.WriteString(".trim()")
		case 'l':
			b.WriteString(".toLowerCase()")
		case 'u':
			b.WriteString(".toUpperCase()")
		case 'r':
			b.WriteString(".replace(" + strconv.Quote(x.a) + ", " + strconv.Quote(x.b) + ")")
		}
	}
	if s.length {
		b.WriteString(".length")
	}
	return b.String()
}

// litKind is the type of a literal in a script.
type litKind uint8

const (
	litString litKind = iota
	litNumber
	litBool
	litNull
	litUndefined
)

type literal struct {
	kind litKind
	s    string
	n    float64
	b    bool
}

func (l literal) String() string {
	switch l.kind {
	case litString:
		return strconv.Quote(l.s)
	case litNumber:
		return strconv.FormatFloat(l.n, 'g', -1, 64)
	case litBool:
		return strconv.FormatBool(l.b)
	case litNull:
		return "null"
	}
	return "undefined"
}

// text is the literal as a variable's value.
func (l literal) text() string {
	if l.kind == litString {
		return l.s
	}
	return l.String()
}

// checkOp is what a check asserts of its subject.
type checkOp uint8

const (
	opEq       checkOp = iota // strict equality (eql, equal, ===)
	opLooseEq                 // ==
	opOneOf                   // oneOf([...])
	opLt                      // below
	opLe                      // most
	opGt                      // above
	opGe                      // least
	opBetween                 // a status class: lo <= status <= hi
	opHas                     // the path exists (hasOwnProperty, property, in)
	opContains                // a substring, or an element of an array
	opType                    // a("string"), Array.isArray, Number.isInteger
	opTruthy                  // JavaScript truthiness; ok
	opExists                  // neither undefined nor null
	opEmpty                   // "", [], {}
	opMatch                   // a regular expression
	opJSON                    // the body is JSON
)

// Check is a pass/fail judgement of a response, recognised from a test
// script: pm.response.to.have.status(201), pm.expect(...).to.eql(...),
// tests["..."] = ... and the like.
type Check struct {
	// Test is the name of the pm.test (or the tests["..."] key) the check
	// belongs to; "" outside of one.
	Test string
	// Line is the script line the check was read from.
	Line int
	subj subject
	op   checkOp
	not  bool
	args []literal
	// other is an operand read like the subject: a variable, or another
	// value of the response.
	other *subject
	re    *regexp.Regexp
	typ   string
	// when are the checks of enclosing if statements: the check applies
	// only when they pass.
	when []*Check
}

// String describes the check, such as `status == 201` or
// `body.name == "lamp"`.
func (c *Check) String() string {
	var b strings.Builder
	b.WriteString(c.subj.String())
	if c.not {
		b.WriteString(" not")
	}
	switch c.op {
	case opEq, opLooseEq:
		b.WriteString(" == ")
		b.WriteString(c.operand())
	case opOneOf:
		b.WriteString(" one of [")
		for i, a := range c.args {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(a.String())
		}
		b.WriteString("]")
	case opLt:
		b.WriteString(" < " + c.operand())
	case opLe:
		b.WriteString(" <= " + c.operand())
	case opGt:
		b.WriteString(" > " + c.operand())
	case opGe:
		b.WriteString(" >= " + c.operand())
	case opBetween:
		if c.args[0].n == c.args[1].n {
			b.WriteString(" == " + c.args[0].String())
		} else {
			b.WriteString(" in " + c.args[0].String() + ".." + c.args[1].String())
		}
	case opHas:
		b.WriteString(" present")
	case opContains:
		b.WriteString(" contains " + c.operand())
	case opType:
		b.WriteString(" is " + c.typ)
	case opTruthy:
		b.WriteString(" truthy")
	case opExists:
		b.WriteString(" exists")
	case opEmpty:
		b.WriteString(" empty")
	case opMatch:
		b.WriteString(" matches /" + c.re.String() + "/")
	case opJSON:
		b.WriteString(" is JSON")
	}
	if len(c.when) > 0 {
		b.WriteString(" (when ")
		for i, w := range c.when {
			if i > 0 {
				b.WriteString(" and ")
			}
			b.WriteString(w.String())
		}
		b.WriteString(")")
	}
	return b.String()
}

func (c *Check) operand() string {
	if c.other != nil {
		return c.other.String()
	}
	if len(c.args) > 0 {
		return c.args[0].String()
	}
	return ""
}

// Applies reports whether the check's enclosing conditions hold.
func (c *Check) Applies(res *Response, s *Scope) bool {
	for _, w := range c.when {
		if !w.Pass(res, s) {
			return false
		}
	}
	return true
}

// Pass reports whether res satisfies the check; s supplies the variables
// an operand may read. It does not look at the enclosing conditions (see
// Applies).
func (c *Check) Pass(res *Response, s *Scope) bool {
	return c.eval(res, s) != c.not
}

func (c *Check) eval(res *Response, s *Scope) bool {
	if c.op == opJSON {
		return isJSON(res.Body)
	}
	v := c.subj.read(res, s)
	args := c.args
	var one [1]literal
	if c.other != nil {
		o := c.other.read(res, s)
		one[0] = o.literal()
		args = one[:]
		if v.fromVar || o.fromVar {
			// A variable holds text where Postman keeps the value's type
			// for the run: compare it as == does.
			if c.op == opEq {
				return v.equal(args[0], false)
			}
		}
	}
	switch c.op {
	case opEq:
		return len(args) > 0 && v.equal(args[0], true)
	case opLooseEq:
		return len(args) > 0 && v.equal(args[0], false)
	case opOneOf:
		for _, a := range args {
			if v.equal(a, true) {
				return true
			}
		}
		return false
	case opLt, opLe, opGt, opGe:
		if len(args) == 0 {
			return false
		}
		x, ok := v.number()
		if !ok || args[0].kind != litNumber {
			return false
		}
		y := args[0].n
		switch c.op {
		case opLt:
			return x < y
		case opLe:
			return x <= y
		case opGt:
			return x > y
		}
		return x >= y
	case opBetween:
		x, ok := v.number()
		return ok && x >= args[0].n && x <= args[1].n
	case opHas:
		return v.kind != vMissing
	case opContains:
		return len(args) > 0 && v.contains(args[0])
	case opType:
		return v.isType(c.typ)
	case opTruthy:
		return v.truthy()
	case opExists:
		return v.kind != vMissing && v.kind != vNull
	case opEmpty:
		return v.empty()
	case opMatch:
		return v.kind != vMissing && c.re.Match(v.textBytes())
	}
	return false
}

// Capture sets a variable from a response (or, in a pre-request script,
// from a constant or a template).
type Capture struct {
	// Var is the variable's name, Scope where it is set.
	Var   string
	Scope Target
	// Line is the script line the capture was read from.
	Line int
	// Unset removes the variable instead of setting it.
	Unset bool
	subj  subject
	// fromResponse is false for a constant or a template value.
	fromResponse bool
	value        template
	// render resolves the template's variables when the capture is
	// applied (pm.variables.replaceIn), rather than when it is used.
	render bool
	when   []*Check
}

// String describes the capture, such as `environment.id = body.id`.
func (c *Capture) String() string {
	dst := c.Scope.String() + "." + c.Var
	switch {
	case c.Unset:
		return "unset " + dst
	case c.fromResponse:
		return dst + " = " + c.subj.String()
	}
	return dst + " = " + strconv.Quote(c.value.source)
}

// FromResponse reports whether the capture reads the response (rather
// than setting a constant or a template).
func (c *Capture) FromResponse() bool { return c.fromResponse }

// Applies reports whether the capture's enclosing conditions hold.
func (c *Capture) Applies(res *Response, s *Scope) bool {
	for _, w := range c.when {
		if !w.Pass(res, s) {
			return false
		}
	}
	return true
}

// Apply sets the capture's variable in s from res. It returns false, and
// leaves the variable as it was, when the response does not have the value
// (a missing JSON member, an absent header): a load test counts that as a
// failed capture rather than setting "undefined". A capture that sets a
// constant or a template (pm.environment.set("step", "2") in a test
// script) sets it, as a pre-request script's setting is applied.
func (c *Capture) Apply(res *Response, s *Scope) bool {
	if c.Unset {
		s.Unset(c.Scope, c.Var)
		return true
	}
	if !c.fromResponse {
		value := c.value.source
		if c.render {
			v := vars{scope: s, rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), now: time.Now}
			value = string(v.appendTemplate(nil, &c.value))
		}
		s.Set(c.Scope, c.Var, value)
		return true
	}
	v := c.subj.read(res, s)
	if v.kind == vMissing {
		return false
	}
	s.Set(c.Scope, c.Var, v.asVariable())
	return true
}

// reads adds the variables the check reads to names: its subject, its
// operand and those of its conditions.
func (c *Check) reads(names map[string]bool) {
	c.subj.reads(names)
	if c.other != nil {
		c.other.reads(names)
	}
	for _, w := range c.when {
		w.reads(names)
	}
}

// reads adds the variables the capture reads to names: a variable it
// copies, one its template names, and those its conditions read.
func (c *Capture) reads(names map[string]bool) {
	if c.fromResponse {
		c.subj.reads(names)
	} else {
		c.value.names(func(n string) { names[n] = true })
	}
	for _, w := range c.when {
		w.reads(names)
	}
}

func (s *subject) reads(names map[string]bool) {
	if s.kind == subVar {
		names[s.name] = true
	}
}
