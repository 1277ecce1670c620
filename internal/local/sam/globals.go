package sam

import "strings"

// globalsOf maps each Globals section to the resource type it applies to.
var globalsOf = map[string]string{
	"Function":    "AWS::Serverless::Function",
	"Api":         "AWS::Serverless::Api",
	"HttpApi":     "AWS::Serverless::HttpApi",
	"SimpleTable": "AWS::Serverless::SimpleTable",
}

// mergeGlobals merges the Globals section into each resource of its
// type, as SAM does before anything else: a resource's own value wins
// over a global one; objects merge key by key; lists join, the global
// items first; an intrinsic function is a value, not an object.
func (b *builder) mergeGlobals() {
	globals, _ := b.tpl["Globals"].(map[string]any)
	for _, section := range sortedKeys(globals) {
		typ, ok := globalsOf[section]
		if !ok {
			b.notes.unsupported("Globals."+section, "not a Globals section SAM has; ignored")
			continue
		}
		g, ok := globals[section].(map[string]any)
		if !ok {
			b.notes.errorf("Globals."+section, "not an object")
			continue
		}
		for _, r := range b.resources {
			if r["Type"] != typ {
				continue
			}
			props, _ := r["Properties"].(map[string]any)
			r["Properties"] = mergeGlobal(g, props).(map[string]any)
		}
	}
	// The implicit APIs take Globals too: events() builds them from
	// these.
	b.globalAPI, _ = globals["Api"].(map[string]any)
	b.globalHTTPAPI, _ = globals["HttpApi"].(map[string]any)
}

// mergeGlobal merges a global value g under a resource's own value v.
func mergeGlobal(g, v any) any {
	if v == nil {
		return clone(g)
	}
	gm, gok := g.(map[string]any)
	vm, vok := v.(map[string]any)
	if gok && vok && !isIntrinsic(gm) && !isIntrinsic(vm) {
		out := make(map[string]any, len(gm)+len(vm))
		for k, x := range gm {
			out[k] = clone(x)
		}
		for k, x := range vm {
			if gx, ok := gm[k]; ok {
				out[k] = mergeGlobal(gx, x)
			} else {
				out[k] = x
			}
		}
		return out
	}
	gl, gok := g.([]any)
	vl, vok := v.([]any)
	if gok && vok {
		return append(clone(gl).([]any), vl...)
	}
	return v
}

// isIntrinsic reports whether m is an intrinsic function.
func isIntrinsic(m map[string]any) bool {
	if len(m) != 1 {
		return false
	}
	for k := range m {
		return k == "Ref" || strings.HasPrefix(k, "Fn::")
	}
	return false
}

// clone copies a JSON value deeply.
func clone(v any) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			out[k] = clone(x)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = clone(x)
		}
		return out
	}
	return v
}
