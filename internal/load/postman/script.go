package postman

import (
	"fmt"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// Issue is something of a collection that is not understood: a script
// statement, an auth type, a body mode. Each is reported once, where it
// stands (a folder's script once, not once per request under it).
type Issue struct {
	// Where is the item's path in the collection: "Conduit / Auth / Login".
	Where string
	// Script is "test" or "prerequest" for a script line, "" otherwise.
	Script string
	// Line and EndLine are the script lines (1-based) the statement spans;
	// 0 when the issue is not a script's.
	Line, EndLine int
	// Text is the (first) line's text, or what is not understood.
	Text string
	// Reason says what is not understood and what the run does instead.
	Reason string
}

// String renders the issue on one line.
func (i Issue) String() string {
	var b strings.Builder
	b.WriteString(i.Where)
	if i.Script != "" {
		fmt.Fprintf(&b, " (%s script, line %d", i.Script, i.Line)
		if i.EndLine > i.Line {
			fmt.Fprintf(&b, "-%d", i.EndLine)
		}
		b.WriteString(")")
	}
	b.WriteString(": ")
	if i.Text != "" {
		b.WriteString(i.Text)
		b.WriteString(": ")
	}
	b.WriteString(i.Reason)
	return b.String()
}

// scriptResult is what a script was recognised as.
type scriptResult struct {
	actions []Action   // a test script's captures and checks, in order
	sets    []*Capture // a pre-request script's variable settings
	issues  []Issue
}

// recognise reads a script (kind "test" or "prerequest") of the item at
// where.
func recognise(lines []string, kind, where string) scriptResult {
	in := &interp{lines: lines, kind: kind, where: where,
		aliases: map[string]meaning{}, tests: map[string][]*Check{}}
	in.exec(parseScript(strings.Join(lines, "\n")))
	return scriptResult{actions: in.out, sets: in.sets, issues: in.issues}
}

type mkind uint8

const (
	mUnknown  mkind = iota
	mSubject        // a value read from the response or a variable
	mLit            // a literal
	mList           // an array of literals
	mChecks         // a boolean made of checks (all must pass)
	mTemplate       // pm.variables.replaceIn("...")
	mDeclared       // a variable declared without a value yet
)

type meaning struct {
	kind   mkind
	subj   subject
	lit    literal
	list   []literal
	checks []*Check
	tmpl   string
}

type interp struct {
	lines   []string
	kind    string
	where   string
	aliases map[string]meaning
	tests   map[string][]*Check
	test    string
	guards  []*Check
	line    int // the statement being read
	out     []Action
	sets    []*Capture
	issues  []Issue
}

func (in *interp) issue(line, end int, reason string) {
	text := ""
	if line >= 1 && line <= len(in.lines) {
		text = strings.TrimSpace(in.lines[line-1])
		if len(text) > 160 {
			text = text[:157] + "..."
		}
	}
	in.issues = append(in.issues, Issue{Where: in.where, Script: in.kind, Line: line, EndLine: end, Text: text, Reason: reason})
}

func (in *interp) exec(stmts []stmt) {
	for _, s := range stmts {
		in.execOne(s)
	}
}

func (in *interp) execOne(s stmt) {
	in.line = s.line
	switch s.kind {
	case sUnknown:
		in.issue(s.line, s.end, "not understood; ignored")
	case sBlock:
		in.exec(s.body)
	case sVar:
		var unknown []string
		for _, d := range s.decls {
			if d.init == nil {
				in.aliases[d.name] = meaning{kind: mDeclared}
				continue
			}
			m := in.eval(d.init)
			if m.kind == mUnknown {
				delete(in.aliases, d.name)
				unknown = append(unknown, d.name)
				continue
			}
			in.aliases[d.name] = m
		}
		if len(unknown) > 0 {
			in.issue(s.line, s.end, "not understood; ignored (nor is what uses "+strings.Join(unknown, ", ")+")")
		}
	case sIf:
		in.execIf(s)
	case sTry:
		in.exec(s.body)
		if len(s.catch) > 0 {
			in.issue(s.catchLine, s.catchEnd, "a catch block is not run")
		}
		in.exec(s.finally)
	case sExpr:
		if s.expr != nil { // nil: an empty statement
			in.execExpr(s)
		}
	}
}

func (in *interp) execIf(s stmt) {
	cond, ok := in.booleanize(in.eval(s.cond))
	if !ok {
		in.issue(s.line, s.line, "condition not understood: the statements inside apply without it")
		in.exec(s.then)
		if len(s.els) > 0 {
			in.issue(s.elseLine, s.elseEnd, "the else branch of a condition not understood is not run")
		}
		return
	}
	saved := in.guards
	in.guards = slices.Clip(saved)
	for _, c := range cond {
		g := *c
		g.when = nil // the guards around it are checked with it
		in.guards = append(in.guards, &g)
	}
	in.exec(s.then)
	in.guards = saved
	if len(s.els) == 0 {
		return
	}
	if len(cond) != 1 {
		in.issue(s.elseLine, s.elseEnd, "the else branch of a compound condition is not run")
		return
	}
	neg := *cond[0]
	neg.not = !neg.not
	neg.when = nil
	in.guards = append(slices.Clip(saved), &neg)
	in.exec(s.els)
	in.guards = saved
}

func (in *interp) execExpr(s stmt) {
	switch e := s.expr.(type) {
	case nBinary:
		if e.op == "=" && in.assign(e) {
			return
		}
	case nCall, nMember:
		root, chain := flatten(e)
		if in.execChain(s, root, chain) {
			return
		}
	}
	in.issue(s.line, s.end, in.reasonFor(s.expr))
}

// reasonFor says why a statement is not understood, for the common ones.
func (in *interp) reasonFor(n node) string {
	root, chain := flatten(n)
	sig := signature(root, chain)
	switch {
	case hasPrefix(sig, "pm", ".sendRequest"):
		return "pm.sendRequest is not run"
	case hasPrefix(sig, "pm", ".execution", ".setNextRequest"), hasPrefix(sig, "postman", ".setNextRequest"),
		hasPrefix(sig, "pm", ".execution", ".skipRequest"):
		return "flow control is not followed: the collection runs in order"
	case hasPrefix(sig, "pm", ".visualizer"):
		return "visualizations are not drawn"
	case hasPrefix(sig, "pm", ".cookies"):
		return "cookies are not read"
	case hasPrefix(sig, "pm", ".iterationData"):
		return "iteration data is not supported"
	case hasPrefix(sig, "require"):
		return "libraries are not loaded"
	}
	return "not understood; ignored"
}

// assign handles `tests["name"] = <condition>` and the assignment of an
// alias declared earlier.
func (in *interp) assign(e nBinary) bool {
	root, chain := flatten(e.x)
	if id, ok := root.(nIdent); ok && len(chain) == 0 {
		// An assignment to a name never declared makes a global in
		// sloppy JavaScript, which scripts rely on; the sandbox's own
		// names are not rebound.
		if sandboxNames[id.name] {
			return false
		}
		m := in.eval(e.y)
		if m.kind == mUnknown {
			delete(in.aliases, id.name)
			return false
		}
		in.aliases[id.name] = m
		return true
	}
	sig := signature(root, chain)
	if len(sig) != 2 || sig[0] != "tests" && sig[0] != "responseTests" || sig[1] != "[]" {
		return false
	}
	name, ok := stringArg(chain[0].index)
	if !ok {
		return false
	}
	checks, ok := in.booleanize(in.eval(e.y))
	if !ok {
		return false
	}
	named := make([]*Check, len(checks))
	for i, c := range checks {
		cc := *c
		cc.Test = name
		cc.Line = in.line
		cc.when = slices.Clone(in.guards)
		named[i] = &cc
		in.out = append(in.out, Action{Check: &cc})
	}
	in.tests[name] = named
	return true
}

// sandboxNames are the names Postman's sandbox defines.
var sandboxNames = map[string]bool{
	"pm": true, "postman": true, "tests": true, "responseBody": true, "responseCode": true,
	"responseHeaders": true, "responseTime": true, "environment": true, "globals": true, "request": true,
	"iteration": true, "data": true, "JSON": true, "console": true, "_": true, "xml2Json": true,
}

// execChain handles a statement that is a call or property chain:
// pm.test, pm.expect, pm.response.to, variable settings and console.
func (in *interp) execChain(s stmt, root node, chain []elem) bool {
	sig := signature(root, chain)
	switch {
	case len(sig) == 3 && hasPrefix(sig, "pm", ".test", "()"):
		args := chain[1].args
		if len(args) < 2 {
			return false
		}
		name, ok := stringArg(args[0])
		fn, isFn := args[1].(nFunc)
		if !ok || !isFn {
			return false
		}
		saved := in.test
		in.test = name
		in.exec(fn.body)
		in.test = saved
		return true
	case hasPrefix(sig, "console"):
		return true
	case hasPrefix(sig, "pm", ".expect", "()"):
		if in.kind != "test" {
			return false
		}
		args := chain[1].args
		if len(args) < 1 || len(args) > 2 {
			return false
		}
		return in.emit(in.expectChain(in.eval(args[0]), chain[2:]))
	case hasPrefix(sig, "pm", ".response", ".to"), hasPrefix(sig, "pm", ".response", ".should"):
		if in.kind != "test" {
			return false
		}
		return in.emit(in.responseChain(chain[2:]))
	}
	if t, ok := setTarget(sig); ok && len(sig) == 4 && sig[3] == "()" {
		switch sig[2] {
		case ".set":
			return in.set(t, chain[2].args)
		case ".unset":
			return in.unset(t, chain[2].args)
		}
		return false
	}
	if len(sig) == 3 && sig[0] == "postman" && sig[2] == "()" {
		switch sig[1] {
		case ".setEnvironmentVariable":
			return in.set(Environment, chain[1].args)
		case ".setGlobalVariable":
			return in.set(Global, chain[1].args)
		case ".clearEnvironmentVariable":
			return in.unset(Environment, chain[1].args)
		case ".clearGlobalVariable":
			return in.unset(Global, chain[1].args)
		}
	}
	return false
}

func setTarget(sig []string) (Target, bool) {
	if len(sig) < 3 || sig[0] != "pm" {
		return 0, false
	}
	switch sig[1] {
	case ".environment":
		return Environment, true
	case ".collectionVariables":
		return CollectionVars, true
	case ".variables":
		return Local, true
	case ".globals":
		return Global, true
	}
	return 0, false
}

func (in *interp) emit(checks []*Check, ok bool) bool {
	if !ok {
		return false
	}
	for _, c := range checks {
		c.when = slices.Clone(in.guards)
		in.out = append(in.out, Action{Check: c})
	}
	return true
}

func (in *interp) set(t Target, args []node) bool {
	if len(args) != 2 {
		return false
	}
	name, ok := stringArg(args[0])
	if !ok || name == "" {
		return false
	}
	c := &Capture{Var: name, Scope: t, Line: in.line, when: slices.Clone(in.guards)}
	m := in.eval(args[1])
	switch {
	case m.kind == mSubject && m.subj.kind == subVar:
		// A copy of another variable: its value when the copy is used.
		c.value = compile("{{" + m.subj.name + "}}")
	case m.kind == mSubject:
		if in.kind != "test" {
			return false
		}
		c.fromResponse = true
		c.subj = m.subj
	case m.kind == mLit:
		c.value = compile(m.lit.text())
	case m.kind == mTemplate:
		c.value = compile(m.tmpl)
		c.render = true
	default:
		return false
	}
	if in.kind == "test" {
		in.out = append(in.out, Action{Capture: c})
	} else {
		in.sets = append(in.sets, c)
	}
	return true
}

func (in *interp) unset(t Target, args []node) bool {
	if len(args) != 1 {
		return false
	}
	name, ok := stringArg(args[0])
	if !ok {
		return false
	}
	c := &Capture{Var: name, Scope: t, Line: in.line, Unset: true, when: slices.Clone(in.guards)}
	if in.kind == "test" {
		in.out = append(in.out, Action{Capture: c})
	} else {
		in.sets = append(in.sets, c)
	}
	return true
}

// elem is one step of a member chain: .name, a call's arguments, or an
// [index].
type elem struct {
	name  string
	call  bool
	args  []node
	index node
}

// flatten turns a.b(c)[d].e into its root (a) and the steps after it.
func flatten(n node) (node, []elem) {
	var chain []elem
	for {
		switch x := n.(type) {
		case nMember:
			chain = append(chain, elem{name: x.name})
			n = x.obj
			continue
		case nCall:
			chain = append(chain, elem{call: true, args: x.args})
			n = x.fn
			continue
		case nIndex:
			chain = append(chain, elem{index: x.idx})
			n = x.obj
			continue
		}
		slices.Reverse(chain)
		return n, chain
	}
}

// signature spells a chain for matching: the root's name, ".name" for a
// member, "()" for a call, "[]" for an index.
func signature(root node, chain []elem) []string {
	sig := make([]string, 0, len(chain)+1)
	switch r := root.(type) {
	case nIdent:
		sig = append(sig, r.name)
	case nRegex:
		sig = append(sig, "/regex/")
	default:
		sig = append(sig, "?")
	}
	for _, e := range chain {
		switch {
		case e.call:
			sig = append(sig, "()")
		case e.index != nil:
			sig = append(sig, "[]")
		default:
			sig = append(sig, "."+e.name)
		}
	}
	return sig
}

func hasPrefix(sig []string, pat ...string) bool {
	if len(sig) < len(pat) {
		return false
	}
	for i, p := range pat {
		if sig[i] != p {
			return false
		}
	}
	return true
}

func stringArg(n node) (string, bool) {
	if l, ok := n.(nLit); ok && l.lit.kind == litString {
		return l.lit.s, true
	}
	return "", false
}

func literalOf(n node) (literal, bool) {
	switch x := n.(type) {
	case nLit:
		return x.lit, true
	case nUnary:
		if l, ok := x.x.(nLit); ok && l.lit.kind == litNumber && (x.op == "-" || x.op == "+") {
			if x.op == "-" {
				l.lit.n = -l.lit.n
			}
			return l.lit, true
		}
	}
	return literal{}, false
}

func parseJSNumber(s string) (float64, bool) {
	s = strings.ReplaceAll(s, "_", "")
	if len(s) > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O' || s[1] == 'b' || s[1] == 'B') {
		n, err := strconv.ParseInt(s, 0, 64)
		return float64(n), err == nil
	}
	f, err := strconv.ParseFloat(s, 64)
	return f, err == nil && !math.IsInf(f, 0)
}

// compileRegex translates a JavaScript regular expression literal to Go's
// syntax, where the two agree; ok is false for what Go cannot match the
// same way (lookarounds, backreferences, sticky or unicode-set flags).
func compileRegex(pat, flags string) (*regexp.Regexp, bool) {
	prefix := ""
	for _, f := range flags {
		switch f {
		case 'i', 'm', 's':
			prefix += string(f)
		case 'g', 'u':
		default:
			return nil, false
		}
	}
	if prefix != "" {
		pat = "(?" + prefix + ")" + pat
	}
	re, err := regexp.Compile(pat)
	return re, err == nil
}
