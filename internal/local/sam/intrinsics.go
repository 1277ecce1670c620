package sam

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// noValue is what AWS::NoValue resolves to: the property or list element
// that holds it is dropped.
type noValue struct{}

// maxDepth bounds the nesting of a template's values and of conditions
// that name conditions: CloudFormation's own templates are far shallower.
const maxDepth = 64

// resolver resolves a template's intrinsic functions against its
// parameters, conditions and the local values of its resources.
type resolver struct {
	tpl    map[string]any
	params map[string]any // by name: the value given, else the default
	conds  map[string]*condition
	// refs and atts are the local values of Ref and Fn::GetAtt of each
	// resource, by logical id (and attribute).
	refs  map[string]any
	atts  map[string]map[string]any
	pseud map[string]any
	notes *notes
}

type condition struct {
	expr      any
	value     bool
	done, now bool // evaluated; being evaluated (a cycle)
}

// cond evaluates the condition name.
func (r *resolver) cond(name, path string, depth int) bool {
	c, ok := r.conds[name]
	if !ok {
		r.notes.errorf(path, "condition %q is not in the template's Conditions", name)
		return false
	}
	if c.done {
		return c.value
	}
	if c.now || depth > maxDepth {
		r.notes.errorf(path, "condition %q depends on itself", name)
		return false
	}
	c.now = true
	c.value = r.boolOf(c.expr, "Conditions."+name, depth+1)
	c.now, c.done = false, true
	return c.value
}

// boolOf evaluates a condition expression: Fn::Equals, Fn::And, Fn::Or,
// Fn::Not, {"Condition": name}, or a literal.
func (r *resolver) boolOf(v any, path string, depth int) bool {
	if depth > maxDepth {
		r.notes.errorf(path, "nested too deep")
		return false
	}
	switch v := v.(type) {
	case bool:
		return v
	case string:
		// Where a condition goes, a name is the condition of that name:
		// goformation reads the short form !Condition NAME as the bare
		// NAME.
		if _, ok := r.conds[v]; ok {
			return r.cond(v, path, depth+1)
		}
		b, err := strconv.ParseBool(v)
		if err != nil {
			r.notes.errorf(path, "condition value %q is not true or false, nor a condition's name", v)
		}
		return b
	case map[string]any:
		if len(v) != 1 {
			break
		}
		for k, arg := range v {
			switch k {
			case "Condition":
				name, _ := arg.(string)
				return r.cond(name, path, depth+1)
			case "Fn::Equals":
				a, ok := arg.([]any)
				if !ok || len(a) != 2 {
					r.notes.errorf(path, "Fn::Equals takes two values")
					return false
				}
				x := r.value(a[0], path+".Fn::Equals[0]", depth+1)
				y := r.value(a[1], path+".Fn::Equals[1]", depth+1)
				return scalarString(x) == scalarString(y)
			case "Fn::And", "Fn::Or":
				a, ok := arg.([]any)
				if !ok || len(a) < 1 {
					r.notes.errorf(path, "%s takes a list of conditions", k)
					return false
				}
				and := k == "Fn::And"
				out := and
				for i, c := range a {
					b := r.boolOf(c, fmt.Sprintf("%s.%s[%d]", path, k, i), depth+1)
					if and {
						out = out && b
					} else {
						out = out || b
					}
				}
				return out
			case "Fn::Not":
				a, ok := arg.([]any)
				if !ok || len(a) != 1 {
					r.notes.errorf(path, "Fn::Not takes one condition")
					return false
				}
				return !r.boolOf(a[0], path+".Fn::Not[0]", depth+1)
			default:
				// An intrinsic that gives a value: Fn::If, Ref, ...
				return r.boolOf(r.value(v, path, depth+1), path, depth+1)
			}
		}
	}
	r.notes.errorf(path, "not a condition: %s", short(v))
	return false
}

// value resolves v: every intrinsic function in it is replaced by its
// value; properties and list elements that resolve to AWS::NoValue are
// dropped (and v itself is noValue{} when it is one).
func (r *resolver) value(v any, path string, depth int) any {
	if depth > maxDepth {
		r.notes.errorf(path, "nested too deep")
		return nil
	}
	switch v := v.(type) {
	case map[string]any:
		if len(v) == 1 {
			for k, arg := range v {
				if k == "Ref" || strings.HasPrefix(k, "Fn::") {
					return r.intrinsic(k, arg, path, depth+1)
				}
			}
		}
		out := make(map[string]any, len(v))
		for k, e := range v {
			x := r.value(e, path+"."+k, depth+1)
			if _, drop := x.(noValue); !drop {
				out[k] = x
			}
		}
		return out
	case []any:
		out := make([]any, 0, len(v))
		for i, e := range v {
			x := r.value(e, fmt.Sprintf("%s[%d]", path, i), depth+1)
			if _, drop := x.(noValue); !drop {
				out = append(out, x)
			}
		}
		return out
	}
	return v
}

// intrinsic resolves the intrinsic function fn with its argument.
func (r *resolver) intrinsic(fn string, arg any, path string, depth int) any {
	p := path + "." + fn
	switch fn {
	case "Ref":
		name, ok := r.value(arg, p, depth).(string)
		if !ok {
			r.notes.errorf(path, "Ref takes a name")
			return ""
		}
		return r.ref(name, path)
	case "Fn::GetAtt":
		var res, att string
		switch a := r.value(arg, p, depth).(type) {
		case string:
			res, att, _ = strings.Cut(a, ".")
		case []any:
			if len(a) == 2 {
				res, _ = a[0].(string)
				att, _ = a[1].(string)
			}
		}
		if res == "" || att == "" {
			r.notes.errorf(path, "Fn::GetAtt takes RESOURCE.ATTRIBUTE")
			return ""
		}
		return r.getAtt(res, att, path)
	case "Fn::Sub":
		return r.sub(arg, p, depth)
	case "Fn::If":
		a, ok := arg.([]any)
		if !ok || len(a) != 3 {
			r.notes.errorf(path, "Fn::If takes [condition, value if true, value if false]")
			return noValue{}
		}
		name, _ := a[0].(string)
		// Only the branch taken is resolved, as CloudFormation does: the
		// other may name resources that its condition leaves out.
		if r.cond(name, p, depth) {
			return r.value(a[1], p+"[1]", depth)
		}
		return r.value(a[2], p+"[2]", depth)
	case "Fn::Equals", "Fn::And", "Fn::Or", "Fn::Not":
		return r.boolOf(map[string]any{fn: arg}, path, depth)
	case "Fn::Join":
		a, ok := r.value(arg, p, depth).([]any)
		if !ok || len(a) != 2 {
			r.notes.errorf(path, "Fn::Join takes [delimiter, list]")
			return ""
		}
		delim, _ := a[0].(string)
		list, ok := a[1].([]any)
		if !ok {
			r.notes.errorf(path, "Fn::Join: the second value is not a list")
			return ""
		}
		parts := make([]string, len(list))
		for i, e := range list {
			parts[i] = scalarString(e)
		}
		return strings.Join(parts, delim)
	case "Fn::Select":
		a, ok := r.value(arg, p, depth).([]any)
		if !ok || len(a) != 2 {
			r.notes.errorf(path, "Fn::Select takes [index, list]")
			return ""
		}
		i, err := strconv.Atoi(scalarString(a[0]))
		list, ok := a[1].([]any)
		if err != nil || !ok || i < 0 || i >= len(list) {
			r.notes.errorf(path, "Fn::Select: index %v out of its list", a[0])
			return ""
		}
		return list[i]
	case "Fn::Split":
		a, ok := r.value(arg, p, depth).([]any)
		if !ok || len(a) != 2 {
			r.notes.errorf(path, "Fn::Split takes [delimiter, string]")
			return []any{}
		}
		delim, _ := a[0].(string)
		if delim == "" {
			r.notes.errorf(path, "Fn::Split: an empty delimiter")
			return []any{}
		}
		var out []any
		for _, s := range strings.Split(scalarString(a[1]), delim) {
			out = append(out, s)
		}
		return out
	case "Fn::FindInMap":
		a, ok := r.value(arg, p, depth).([]any)
		if !ok || len(a) < 3 {
			r.notes.errorf(path, "Fn::FindInMap takes [map, key, key]")
			return ""
		}
		m, _ := r.tpl["Mappings"].(map[string]any)
		top, _ := m[scalarString(a[0])].(map[string]any)
		second, _ := top[scalarString(a[1])].(map[string]any)
		v, ok := second[scalarString(a[2])]
		if !ok {
			if len(a) == 4 { // AWS::LanguageExtensions' DefaultValue
				if d, ok := a[3].(map[string]any); ok {
					if v, ok := d["DefaultValue"]; ok {
						return v
					}
				}
			}
			r.notes.errorf(path, "Fn::FindInMap: %s.%s.%s is not in the Mappings", scalarString(a[0]), scalarString(a[1]), scalarString(a[2]))
			return ""
		}
		return v
	case "Fn::Base64":
		return base64.StdEncoding.EncodeToString([]byte(scalarString(r.value(arg, p, depth))))
	case "Fn::GetAZs":
		region := scalarString(r.value(arg, p, depth))
		if region == "" {
			region = r.pseud["AWS::Region"].(string)
		}
		return []any{region + "a", region + "b", region + "c"}
	case "Fn::Length":
		if l, ok := r.value(arg, p, depth).([]any); ok {
			return float64(len(l))
		}
		r.notes.errorf(path, "Fn::Length takes a list")
		return float64(0)
	case "Fn::ToJsonString":
		b, _ := json.Marshal(r.value(arg, p, depth))
		return string(b)
	}
	r.notes.unsupported(path, "%s has no local value", fn)
	return ""
}

// ref is Ref's value: a parameter's, a pseudo parameter's, or a
// resource's local value.
func (r *resolver) ref(name, path string) any {
	if name == "AWS::NoValue" {
		return noValue{}
	}
	if v, ok := r.pseud[name]; ok {
		return v
	}
	if v, ok := r.params[name]; ok {
		return v
	}
	if v, ok := r.refs[name]; ok {
		return v
	}
	if res, att, ok := strings.Cut(name, "."); ok {
		// SAM's generated resources: Fn.Alias, Fn.Version, Api.Stage.
		if v, ok := r.atts[res]["."+att]; ok {
			return v
		}
	}
	if _, ok := r.resources()[name]; ok {
		r.notes.unsupported(path, "Ref %s has no local value", name)
		return name
	}
	r.notes.errorf(path, "Ref %s: no such parameter or resource", name)
	return ""
}

// getAtt is Fn::GetAtt's value for a resource's attribute.
func (r *resolver) getAtt(res, att, path string) any {
	if v, ok := r.atts[res][att]; ok {
		return v
	}
	if _, ok := r.resources()[res]; ok {
		r.notes.unsupported(path, "Fn::GetAtt %s.%s has no local value", res, att)
		return res + "." + att
	}
	r.notes.errorf(path, "Fn::GetAtt %s.%s: no such resource", res, att)
	return ""
}

// subVar matches a variable of Fn::Sub: ${Name}, ${Res.Attr}, and ${!...},
// which stands for the literal ${...}.
var subVar = regexp.MustCompile(`\$\{([^}]*)\}`)

// sub resolves Fn::Sub, in its string and its [string, variables] forms.
func (r *resolver) sub(arg any, path string, depth int) any {
	var str string
	vars := map[string]any{}
	switch a := arg.(type) {
	case string:
		str = a
	case []any:
		if len(a) != 2 {
			r.notes.errorf(path, "Fn::Sub takes a string, or [string, variables]")
			return ""
		}
		str, _ = a[0].(string)
		m, _ := r.value(a[1], path+"[1]", depth).(map[string]any)
		vars = m
	default:
		r.notes.errorf(path, "Fn::Sub takes a string, or [string, variables]")
		return ""
	}
	return subVar.ReplaceAllStringFunc(str, func(m string) string {
		name := strings.TrimSpace(m[2 : len(m)-1])
		if strings.HasPrefix(name, "!") {
			return "${" + name[1:] + "}"
		}
		if v, ok := vars[name]; ok {
			return scalarString(v)
		}
		if res, att, ok := strings.Cut(name, "."); ok && !strings.HasPrefix(name, "AWS::") {
			if _, isParam := r.params[name]; !isParam {
				return scalarString(r.getAtt(res, att, path))
			}
		}
		return scalarString(r.ref(name, path))
	})
}

// resources returns the template's resources.
func (r *resolver) resources() map[string]any {
	m, _ := r.tpl["Resources"].(map[string]any)
	return m
}

// scalarString is a scalar's text as CloudFormation writes it: a string
// as is, a whole number without a fraction, a bool as true or false.
func scalarString(v any) string {
	switch v := v.(type) {
	case nil, noValue:
		return ""
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = scalarString(e)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// short is v's JSON, cut for a message.
func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 80 {
		return string(b[:77]) + "..."
	}
	return string(b)
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
