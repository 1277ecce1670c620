package postman

import (
	"slices"
	"strconv"
	"strings"
)

// chainWords are the words of chai's chains that assert nothing.
var chainWords = map[string]bool{
	"to": true, "be": true, "been": true, "is": true, "that": true, "which": true, "and": true,
	"has": true, "have": true, "with": true, "at": true, "of": true, "same": true, "but": true,
	"does": true, "still": true, "also": true, "deep": true, "own": true, "nested": true, "ordered": true,
	"should": true,
}

// expectChain reads the assertions of pm.expect(subject).<chain>.
func (in *interp) expectChain(m meaning, chain []elem) ([]*Check, bool) {
	var out []*Check
	not := false
	s := m.subj
	reversed := m.kind == mList // pm.expect([200, 201]).to.include(pm.response.code)
	if m.kind != mSubject && !reversed {
		return nil, false
	}
	add := func(c *Check) {
		c.not = not
		out = append(out, c)
	}
	for i := 0; i < len(chain); i++ {
		e := chain[i]
		if e.call || e.index != nil {
			return nil, false
		}
		var args []node
		called := i+1 < len(chain) && chain[i+1].call
		if called {
			args = chain[i+1].args
			i++
		}
		if chainWords[e.name] && !called {
			continue
		}
		if reversed {
			if (e.name == "include" || e.name == "includes" || e.name == "contain" || e.name == "contains") && called && len(args) == 1 {
				a := in.eval(args[0])
				if a.kind != mSubject {
					return nil, false
				}
				c := in.newCheck(a.subj, opOneOf)
				c.args = m.list
				add(c)
				continue
			}
			if e.name == "not" && !called {
				not = !not
				continue
			}
			return nil, false
		}
		switch e.name {
		case "not":
			if called {
				return nil, false
			}
			not = !not
		case "ok", "true", "false", "null", "undefined", "exist", "exists", "empty":
			if called {
				return nil, false
			}
			switch e.name {
			case "ok":
				add(in.newCheck(s, opTruthy))
			case "true", "false":
				c := in.newCheck(s, opEq)
				c.args = []literal{{kind: litBool, b: e.name == "true"}}
				add(c)
			case "null":
				c := in.newCheck(s, opEq)
				c.args = []literal{{kind: litNull}}
				add(c)
			case "undefined":
				// undefined is "not present"; not.undefined is present.
				c := in.newCheck(s, opHas)
				c.not = !not
				out = append(out, c)
			case "exist", "exists":
				add(in.newCheck(s, opExists))
			case "empty":
				add(in.newCheck(s, opEmpty))
			}
		case "length", "lengthOf":
			if s.length {
				return nil, false
			}
			s.length = true
			if called {
				l, ok := singleLiteral(args)
				if !ok || l.kind != litNumber {
					return nil, false
				}
				c := in.newCheck(s, opEq)
				c.args = []literal{l}
				add(c)
			}
		case "eql", "eqls", "equal", "equals", "eq":
			if !called || len(args) < 1 || len(args) > 2 {
				return nil, false
			}
			c, ok := in.operand(s, opEq, args[0])
			if !ok {
				return nil, false
			}
			add(c)
		case "oneOf":
			if !called || len(args) != 1 {
				return nil, false
			}
			a := in.eval(args[0])
			if a.kind != mList {
				return nil, false
			}
			c := in.newCheck(s, opOneOf)
			c.args = a.list
			add(c)
		case "above", "gt", "greaterThan", "below", "lt", "lessThan", "least", "gte", "most", "lte":
			if !called || len(args) < 1 || len(args) > 2 {
				return nil, false
			}
			op := map[string]checkOp{"above": opGt, "gt": opGt, "greaterThan": opGt, "below": opLt, "lt": opLt,
				"lessThan": opLt, "least": opGe, "gte": opGe, "most": opLe, "lte": opLe}[e.name]
			c, ok := in.operand(s, op, args[0])
			if !ok {
				return nil, false
			}
			add(c)
		case "within":
			if !called || len(args) != 2 {
				return nil, false
			}
			lo, okLo := literalOf(args[0])
			hi, okHi := literalOf(args[1])
			if !okLo || !okHi || lo.kind != litNumber || hi.kind != litNumber {
				return nil, false
			}
			c := in.newCheck(s, opBetween)
			c.args = []literal{lo, hi}
			add(c)
		case "a", "an":
			t, ok := singleString(args)
			if !called || !ok {
				return nil, false
			}
			c := in.newCheck(s, opType)
			c.typ = strings.ToLower(t)
			add(c)
		case "property":
			if !called || len(args) < 1 || len(args) > 2 || s.kind != subBody || s.length || len(s.xf) > 0 {
				return nil, false
			}
			key, ok := stringArg(args[0])
			if !ok {
				return nil, false
			}
			s.path = append(slices.Clone(s.path), key)
			if len(args) == 2 {
				c, ok := in.operand(s, opEq, args[1])
				if !ok {
					return nil, false
				}
				add(c)
			} else {
				add(in.newCheck(s, opHas))
			}
		case "include", "includes", "contain", "contains", "string":
			if !called || len(args) != 1 {
				return nil, false
			}
			l, ok := literalOf(args[0])
			if !ok {
				return nil, false
			}
			c := in.newCheck(s, opContains)
			c.args = []literal{l}
			add(c)
		case "match":
			if !called || len(args) != 1 {
				return nil, false
			}
			r, ok := args[0].(nRegex)
			if !ok {
				return nil, false
			}
			re, ok := compileRegex(r.pat, r.flags)
			if !ok {
				return nil, false
			}
			c := in.newCheck(s, opMatch)
			c.re = re
			add(c)
		default:
			return nil, false
		}
	}
	return out, len(out) > 0
}

func singleLiteral(args []node) (literal, bool) {
	if len(args) != 1 {
		return literal{}, false
	}
	return literalOf(args[0])
}

// operand builds a comparison of s with a literal or another value.
func (in *interp) operand(s subject, op checkOp, arg node) (*Check, bool) {
	c := in.newCheck(s, op)
	a := in.eval(arg)
	switch a.kind {
	case mLit:
		c.args = []literal{a.lit}
	case mSubject:
		other := a.subj
		c.other = &other
	default:
		return nil, false
	}
	return c, true
}

// statusClasses are pm.response.to.be.<class> and the statuses they
// accept.
var statusClasses = map[string][2]float64{
	"info": {100, 199}, "success": {200, 299}, "redirection": {300, 399}, "clientError": {400, 499},
	"serverError": {500, 599}, "error": {400, 599}, "ok": {200, 200}, "accepted": {202, 202},
	"badRequest": {400, 400}, "unauthorized": {401, 401}, "forbidden": {403, 403}, "notFound": {404, 404},
	"rateLimited": {429, 429},
}

// responseChain reads the assertions of pm.response.to.<chain>.
func (in *interp) responseChain(chain []elem) ([]*Check, bool) {
	var out []*Check
	not := false
	add := func(c *Check) {
		c.not = not
		out = append(out, c)
	}
	for i := 0; i < len(chain); i++ {
		e := chain[i]
		if e.call || e.index != nil {
			return nil, false
		}
		var args []node
		called := i+1 < len(chain) && chain[i+1].call
		if called {
			args = chain[i+1].args
			i++
		}
		if chainWords[e.name] && !called {
			continue
		}
		if r, ok := statusClasses[e.name]; ok && !called {
			c := in.newCheck(subject{kind: subStatus}, opBetween)
			c.args = []literal{{kind: litNumber, n: r[0]}, {kind: litNumber, n: r[1]}}
			add(c)
			continue
		}
		switch e.name {
		case "not":
			if called {
				return nil, false
			}
			not = !not
		case "status":
			l, ok := singleLiteral(args)
			if !called || !ok {
				return nil, false
			}
			switch l.kind {
			case litNumber:
				c := in.newCheck(subject{kind: subStatus}, opEq)
				c.args = []literal{l}
				add(c)
			case litString:
				c := in.newCheck(subject{kind: subStatusText}, opEq)
				c.args = []literal{l}
				add(c)
			default:
				return nil, false
			}
		case "header":
			if !called || len(args) < 1 || len(args) > 2 {
				return nil, false
			}
			name, ok := stringArg(args[0])
			if !ok {
				return nil, false
			}
			s := subject{kind: subHeader, header: name}
			if len(args) == 1 {
				add(in.newCheck(s, opHas))
				continue
			}
			c, ok := in.operand(s, opEq, args[1])
			if !ok {
				return nil, false
			}
			add(c)
		case "json":
			if called {
				return nil, false
			}
			add(in.newCheck(subject{kind: subText}, opJSON))
		case "withBody":
			if called {
				return nil, false
			}
			add(in.newCheck(subject{kind: subText}, opTruthy))
		case "body":
			switch {
			case !called:
				return nil, false
			case len(args) == 0:
				add(in.newCheck(subject{kind: subText}, opTruthy))
			default:
				c, ok := in.operand(subject{kind: subText}, opEq, args[0])
				if !ok || len(args) != 1 {
					return nil, false
				}
				add(c)
			}
		case "jsonBody":
			if !called || len(args) > 2 {
				return nil, false
			}
			if len(args) == 0 {
				add(in.newCheck(subject{kind: subText}, opJSON))
				continue
			}
			p, ok := stringArg(args[0])
			if !ok {
				return nil, false
			}
			path, ok := parsePath(p)
			if !ok {
				return nil, false
			}
			s := subject{kind: subBody, path: path}
			if len(args) == 1 {
				add(in.newCheck(s, opHas))
				continue
			}
			c, ok := in.operand(s, opEq, args[1])
			if !ok {
				return nil, false
			}
			add(c)
		default:
			return nil, false
		}
	}
	return out, len(out) > 0
}

// parsePath reads a lodash-style path, "data.items[0].id", into
// jsonparser keys.
func parsePath(p string) ([]string, bool) {
	var keys []string
	for p != "" {
		switch {
		case p[0] == '.':
			p = p[1:]
		case p[0] == '[':
			end := strings.IndexByte(p, ']')
			if end < 0 {
				return nil, false
			}
			inner := strings.Trim(p[1:end], `"'`)
			if _, err := strconv.Atoi(inner); err == nil {
				keys = append(keys, "["+inner+"]")
			} else {
				keys = append(keys, inner)
			}
			p = p[end+1:]
		default:
			end := strings.IndexAny(p, ".[")
			if end < 0 {
				end = len(p)
			}
			keys = append(keys, p[:end])
			p = p[end:]
		}
	}
	return keys, len(keys) > 0
}
