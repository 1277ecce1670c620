package sam

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"unicode"
)

// ParseOverrides reads parameter values as sam's --parameter-overrides
// takes them: KEY=VALUE pairs separated by spaces, a value in double or
// single quotes keeping its spaces, or CloudFormation's
// ParameterKey=KEY,ParameterValue=VALUE. Each of values may hold several;
// a later value of a key wins.
func ParseOverrides(values []string) (map[string]string, error) {
	out := map[string]string{}
	for _, v := range values {
		fields, err := splitQuoted(v)
		if err != nil {
			return nil, fmt.Errorf("parameter overrides %q: %w", v, err)
		}
		for _, f := range fields {
			if k, rest, ok := strings.Cut(f, "ParameterKey="); ok && k == "" {
				key, val, ok := strings.Cut(rest, ",ParameterValue=")
				if !ok || key == "" {
					return nil, fmt.Errorf("parameter override %q: want ParameterKey=KEY,ParameterValue=VALUE", f)
				}
				out[key] = val
				continue
			}
			key, val, ok := strings.Cut(f, "=")
			if !ok || key == "" || strings.ContainsAny(key, " \t") {
				return nil, fmt.Errorf("parameter override %q: want KEY=VALUE", f)
			}
			out[key] = val
		}
	}
	return out, nil
}

// splitQuoted splits s at unquoted white space; quotes (" or ') group and
// are removed.
func splitQuoted(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '"' || r == '\'':
			quote, in = r, true
		case unicode.IsSpace(r):
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if quote != 0 {
		return nil, fmt.Errorf("an unclosed %c", quote)
	}
	if in {
		out = append(out, cur.String())
	}
	return out, nil
}

// EnvVars are functions' environment variables from a file in the form
// of sam local's --env-vars: {"Parameters": {NAME: VALUE}} for every
// function, {"LogicalId": {NAME: VALUE}} for one, which wins.
type EnvVars map[string]map[string]string

// ReadEnvVars reads an --env-vars file.
func ReadEnvVars(path string) (EnvVars, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sam: env vars: %w", err)
	}
	return ParseEnvVars(b)
}

// ParseEnvVars parses an --env-vars document. Values may be strings,
// numbers or booleans, as sam takes them.
func ParseEnvVars(b []byte) (EnvVars, error) {
	var raw map[string]map[string]any
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("sam: env vars: want {\"Parameters\" or a function's logical id: {NAME: VALUE}}: %w", err)
	}
	out := EnvVars{}
	for fn, vars := range raw {
		out[fn] = map[string]string{}
		for k, v := range vars {
			switch v.(type) {
			case string, float64, bool:
			default:
				return nil, fmt.Errorf("sam: env vars: %s.%s: want a string, number or boolean", fn, k)
			}
			if k == "" || strings.ContainsAny(k, "=\x00") {
				return nil, fmt.Errorf("sam: env vars: %s: %q is not a variable name", fn, k)
			}
			out[fn][k] = scalarString(v)
		}
	}
	return out, nil
}

// Apply returns env (KEY=VALUE, in name order) with the file's variables
// for the function added or replaced: Parameters first, then the
// function's own.
func (e EnvVars) Apply(fn *Function, env []string) []string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	for _, src := range []map[string]string{e["Parameters"], e[fn.LogicalID]} {
		for k, v := range src {
			m[k] = v
		}
	}
	out := make([]string, 0, len(m))
	for _, k := range sortedKeys(m) {
		out = append(out, k+"="+m[k])
	}
	return out
}
