package postman

import (
	"slices"
	"strconv"
)

// eval gives an expression its meaning: a value of the response or of a
// variable, a literal, or a condition made of checks.
func (in *interp) eval(n node) meaning {
	switch x := n.(type) {
	case nLit:
		return meaning{kind: mLit, lit: x.lit}
	case nArray:
		var list []literal
		for _, e := range x.elems {
			l, ok := literalOf(e)
			if !ok {
				return meaning{}
			}
			list = append(list, l)
		}
		return meaning{kind: mList, list: list}
	case nUnary:
		switch x.op {
		case "!":
			checks, ok := in.booleanize(in.eval(x.x))
			if !ok || len(checks) != 1 {
				return meaning{}
			}
			c := *checks[0]
			c.not = !c.not
			return meaning{kind: mChecks, checks: []*Check{&c}}
		case "-", "+":
			if l, ok := literalOf(x); ok {
				return meaning{kind: mLit, lit: l}
			}
		}
		return meaning{}
	case nBinary:
		return in.evalBinary(x)
	case nIdent, nMember, nIndex, nCall:
		root, chain := flatten(x)
		return in.evalChain(root, chain)
	}
	return meaning{}
}

var compareOps = map[string]struct {
	op  checkOp
	not bool
}{
	"===": {opEq, false}, "!==": {opEq, true}, "==": {opLooseEq, false}, "!=": {opLooseEq, true},
	"<": {opLt, false}, "<=": {opLe, false}, ">": {opGt, false}, ">=": {opGe, false},
}

// flipped is the comparison with its operands swapped.
var flipped = map[checkOp]checkOp{opLt: opGt, opLe: opGe, opGt: opLt, opGe: opLe, opEq: opEq, opLooseEq: opLooseEq}

func (in *interp) evalBinary(x nBinary) meaning {
	if c, ok := compareOps[x.op]; ok {
		a, b := in.eval(x.x), in.eval(x.y)
		op := c.op
		if a.kind != mSubject && b.kind == mSubject {
			a, b = b, a
			op = flipped[op]
		}
		if a.kind != mSubject {
			return meaning{}
		}
		chk := in.newCheck(a.subj, op)
		chk.not = c.not
		switch b.kind {
		case mLit:
			chk.args = []literal{b.lit}
		case mSubject:
			other := b.subj
			chk.other = &other
		default:
			return meaning{}
		}
		return meaning{kind: mChecks, checks: []*Check{chk}}
	}
	switch x.op {
	case "&&":
		a, okA := in.booleanize(in.eval(x.x))
		b, okB := in.booleanize(in.eval(x.y))
		if !okA || !okB {
			return meaning{}
		}
		return meaning{kind: mChecks, checks: append(slices.Clip(a), b...)}
	case "||":
		// value || {} and value || []: the fallback of a missing value,
		// which a capture or check of a member of it treats as missing.
		a := in.eval(x.x)
		if a.kind != mSubject {
			return meaning{}
		}
		switch y := x.y.(type) {
		case nObject:
			return a
		case nArray:
			if len(y.elems) == 0 {
				return a
			}
		}
		return meaning{}
	case "in":
		key, ok := stringArg(x.x)
		if !ok {
			if l, isLit := literalOf(x.x); isLit && l.kind == litNumber {
				key, ok = "["+strconv.FormatFloat(l.n, 'f', -1, 64)+"]", true
			}
		}
		b := in.eval(x.y)
		if !ok || b.kind != mSubject || b.subj.kind != subBody || b.subj.length || len(b.subj.xf) > 0 {
			return meaning{}
		}
		s := b.subj
		s.path = append(slices.Clip(s.path), key)
		return meaning{kind: mChecks, checks: []*Check{in.newCheck(s, opHas)}}
	}
	return meaning{}
}

func (in *interp) newCheck(s subject, op checkOp) *Check {
	return &Check{Test: in.test, Line: in.line, subj: s, op: op}
}

// booleanize turns a meaning into the checks it stands for as a
// condition: checks as they are, a value as its truthiness.
func (in *interp) booleanize(m meaning) ([]*Check, bool) {
	switch m.kind {
	case mChecks:
		return m.checks, len(m.checks) > 0
	case mSubject:
		return []*Check{in.newCheck(m.subj, opTruthy)}, true
	}
	return nil, false
}

// evalChain reads a member chain: the response, a variable, an alias,
// and then members, indexes and string methods of it.
func (in *interp) evalChain(root node, chain []elem) meaning {
	sig := signature(root, chain)
	body := func(n int) meaning {
		return in.rest(meaning{kind: mSubject, subj: subject{kind: subBody}}, chain[n:])
	}
	sub := func(k subjectKind, n int) meaning {
		return in.rest(meaning{kind: mSubject, subj: subject{kind: k}}, chain[n:])
	}
	switch {
	case hasPrefix(sig, "pm", ".response", ".json", "()"):
		return body(3)
	case hasPrefix(sig, "pm", ".response", ".text", "()"):
		return sub(subText, 3)
	case hasPrefix(sig, "pm", ".response", ".code"):
		return sub(subStatus, 2)
	case hasPrefix(sig, "responseCode", ".code"):
		return sub(subStatus, 1)
	case hasPrefix(sig, "pm", ".response", ".status"):
		return sub(subStatusText, 2)
	case hasPrefix(sig, "pm", ".response", ".responseTime"):
		return sub(subTime, 2)
	case hasPrefix(sig, "responseTime"):
		return sub(subTime, 0)
	case hasPrefix(sig, "responseBody"):
		return sub(subText, 0)
	case hasPrefix(sig, "pm", ".response", ".headers", ".get", "()"),
		hasPrefix(sig, "postman", ".getResponseHeader", "()"):
		call, n := 3, 4 // pm.response.headers.get(name)
		if sig[0] == "postman" {
			call, n = 1, 2 // postman.getResponseHeader(name)
		}
		name, ok := singleString(chain[call].args)
		if !ok {
			return meaning{}
		}
		return in.rest(meaning{kind: mSubject, subj: subject{kind: subHeader, header: name}}, chain[n:])
	case hasPrefix(sig, "pm", ".response", ".headers", ".has", "()"):
		if len(chain[3].args) != 1 || len(chain) != 4 {
			return meaning{}
		}
		name, ok := stringArg(chain[3].args[0])
		if !ok {
			return meaning{}
		}
		return meaning{kind: mChecks, checks: []*Check{in.newCheck(subject{kind: subHeader, header: name}, opHas)}}
	case hasPrefix(sig, "responseHeaders", "[]"):
		name, ok := stringArg(chain[0].index)
		if !ok {
			return meaning{}
		}
		return in.rest(meaning{kind: mSubject, subj: subject{kind: subHeader, header: name}}, chain[1:])
	case hasPrefix(sig, "JSON", ".parse", "()"):
		if len(chain[1].args) != 1 {
			return meaning{}
		}
		if a := in.eval(chain[1].args[0]); a.kind != mSubject || a.subj.kind != subText || len(a.subj.xf) > 0 {
			return meaning{}
		}
		return body(2)
	case hasPrefix(sig, "JSON", ".stringify", "()"):
		if len(chain[1].args) != 1 || len(chain) != 2 {
			return meaning{}
		}
		a := in.eval(chain[1].args[0])
		if a.kind != mSubject {
			return meaning{}
		}
		a.subj.stringify = true
		return a
	case hasPrefix(sig, "pm", ".variables", ".replaceIn", "()"):
		if len(chain) != 3 || len(chain[2].args) != 1 {
			return meaning{}
		}
		s, ok := stringArg(chain[2].args[0])
		if !ok {
			return meaning{}
		}
		return meaning{kind: mTemplate, tmpl: s}
	case len(sig) >= 4 && sig[0] == "pm" && sig[2] == ".get" && sig[3] == "()":
		t, ok := setTarget(sig)
		if !ok || len(chain[2].args) != 1 {
			return meaning{}
		}
		name, ok := stringArg(chain[2].args[0])
		if !ok {
			return meaning{}
		}
		return in.rest(meaning{kind: mSubject, subj: subject{kind: subVar, name: name, target: t, any: t == Local}}, chain[3:])
	case len(sig) >= 3 && sig[0] == "postman" && (sig[1] == ".getEnvironmentVariable" || sig[1] == ".getGlobalVariable") && sig[2] == "()":
		t := Environment
		if sig[1] == ".getGlobalVariable" {
			t = Global
		}
		if len(chain[1].args) != 1 {
			return meaning{}
		}
		name, ok := stringArg(chain[1].args[0])
		if !ok {
			return meaning{}
		}
		return in.rest(meaning{kind: mSubject, subj: subject{kind: subVar, name: name, target: t}}, chain[2:])
	case len(sig) >= 2 && (sig[0] == "environment" || sig[0] == "globals") && !in.declared(sig[0]):
		// The legacy sandbox's environment.name and globals["name"].
		t := Environment
		if sig[0] == "globals" {
			t = Global
		}
		name := ""
		switch e := chain[0]; {
		case e.index != nil:
			name, _ = stringArg(e.index)
		case !e.call:
			name = e.name
		}
		if name == "" {
			return meaning{}
		}
		return in.rest(meaning{kind: mSubject, subj: subject{kind: subVar, name: name, target: t}}, chain[1:])
	case hasPrefix(sig, "tests", "[]") && len(chain) == 1:
		name, ok := stringArg(chain[0].index)
		if !ok || len(in.tests[name]) == 0 {
			return meaning{}
		}
		return meaning{kind: mChecks, checks: in.tests[name]}
	case len(chain) == 2 && (hasPrefix(sig, "Array", ".isArray", "()") || hasPrefix(sig, "Number", ".isInteger", "()")):
		if len(chain[1].args) != 1 {
			return meaning{}
		}
		a := in.eval(chain[1].args[0])
		if a.kind != mSubject {
			return meaning{}
		}
		c := in.newCheck(a.subj, opType)
		c.typ = "array"
		if sig[0] == "Number" {
			c.typ = "integer"
		}
		return meaning{kind: mChecks, checks: []*Check{c}}
	case len(chain) == 1 && chain[0].call && len(chain[0].args) == 1 &&
		(sig[0] == "String" || sig[0] == "Number" || sig[0] == "parseInt" || sig[0] == "parseFloat"):
		return in.eval(chain[0].args[0])
	case len(sig) == 3 && sig[0] == "/regex/" && sig[1] == ".test" && sig[2] == "()":
		re, ok := compileRegex(root.(nRegex).pat, root.(nRegex).flags)
		if !ok || len(chain[1].args) != 1 {
			return meaning{}
		}
		a := in.eval(chain[1].args[0])
		if a.kind != mSubject {
			return meaning{}
		}
		c := in.newCheck(a.subj, opMatch)
		c.re = re
		return meaning{kind: mChecks, checks: []*Check{c}}
	}
	if id, ok := root.(nIdent); ok {
		if m, ok := in.aliases[id.name]; ok && m.kind != mDeclared {
			return in.rest(m, chain)
		}
	}
	return meaning{}
}

func (in *interp) declared(name string) bool {
	_, ok := in.aliases[name]
	return ok
}

// rest applies the steps after a value: members and indexes of a JSON
// value, .length, and a few string methods.
func (in *interp) rest(m meaning, chain []elem) meaning {
	if len(chain) == 0 {
		return m
	}
	if m.kind != mSubject {
		return meaning{}
	}
	s := m.subj
	s.path = slices.Clone(s.path)
	s.xf = slices.Clone(s.xf)
	for i := 0; i < len(chain); i++ {
		e := chain[i]
		if s.length {
			return meaning{}
		}
		called := i+1 < len(chain) && chain[i+1].call
		switch {
		case e.index != nil:
			if s.kind != subBody || len(s.xf) > 0 || s.stringify {
				return meaning{}
			}
			l, ok := literalOf(e.index)
			switch {
			case !ok:
				return meaning{}
			case l.kind == litString:
				s.path = append(s.path, l.s)
			case l.kind == litNumber && l.n >= 0 && l.n == float64(int(l.n)):
				s.path = append(s.path, "["+strconv.Itoa(int(l.n))+"]")
			default:
				return meaning{}
			}
		case e.call:
			return meaning{}
		case called:
			args := chain[i+1].args
			i++
			switch e.name {
			case "hasOwnProperty":
				key, ok := singleString(args)
				if !ok || s.kind != subBody || len(s.xf) > 0 || i != len(chain)-1 {
					return meaning{}
				}
				s.path = append(s.path, key)
				return meaning{kind: mChecks, checks: []*Check{in.newCheck(s, opHas)}}
			case "has", "includes":
				if len(args) != 1 || i != len(chain)-1 {
					return meaning{}
				}
				l, ok := literalOf(args[0])
				if !ok || e.name == "has" && s.kind != subText {
					return meaning{}
				}
				c := in.newCheck(s, opContains)
				c.args = []literal{l}
				return meaning{kind: mChecks, checks: []*Check{c}}
			case "split":
				sep, ok := singleString(args)
				if !ok || i+1 >= len(chain) {
					return meaning{}
				}
				x := xform{op: 's', a: sep}
				n := chain[i+1]
				switch {
				case n.index != nil:
					l, ok := literalOf(n.index)
					if !ok || l.kind != litNumber || l.n < 0 || l.n != float64(int(l.n)) {
						return meaning{}
					}
					x.index = int(l.n)
					i++
				case n.name == "pop" && i+2 < len(chain) && chain[i+2].call && len(chain[i+2].args) == 0:
					x.index = -1
					i += 2
				default:
					return meaning{}
				}
				s.xf = append(s.xf, x)
			case "trim", "toLowerCase", "toUpperCase", "toString":
				if len(args) != 0 {
					return meaning{}
				}
				switch e.name {
				case "trim":
					s.xf = append(s.xf, xform{op: 't'})
				case "toLowerCase":
					s.xf = append(s.xf, xform{op: 'l'})
				case "toUpperCase":
					s.xf = append(s.xf, xform{op: 'u'})
				}
			case "replace":
				if len(args) != 2 {
					return meaning{}
				}
				a, okA := stringArg(args[0])
				b, okB := stringArg(args[1])
				if !okA || !okB {
					return meaning{}
				}
				s.xf = append(s.xf, xform{op: 'r', a: a, b: b})
			default:
				return meaning{}
			}
		case e.name == "length":
			s.length = true
		default:
			if s.kind != subBody || len(s.xf) > 0 || s.stringify {
				return meaning{}
			}
			s.path = append(s.path, e.name)
		}
	}
	return meaning{kind: mSubject, subj: s}
}

func singleString(args []node) (string, bool) {
	if len(args) != 1 {
		return "", false
	}
	return stringArg(args[0])
}
