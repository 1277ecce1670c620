package storetest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	"github.com/surgehq/surge/internal/items"
)

// jsonDiff compares two JSON texts as values and returns "" when they are
// equal, or where they first differ. Object members may come in any order
// (backends keep members differently); array elements and strings must be
// equal; numbers must have the same text after items.NormalizeNumber, so
// that a value that went through float64 shows even where it prints alike.
func jsonDiff(got, want []byte) string {
	g, err := decodeJSON(got)
	if err != nil {
		return fmt.Sprintf("got is not JSON: %v", err)
	}
	w, err := decodeJSON(want)
	if err != nil {
		return fmt.Sprintf("want is not JSON: %v", err)
	}
	return valueDiff("$", g, w)
}

func decodeJSON(data []byte) (any, error) {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, fmt.Errorf("data after the value")
	}
	return v, nil
}

func valueDiff(path string, got, want any) string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an object", path, kind(got))
		}
		names := make([]string, 0, len(w))
		for name := range w {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			gv, ok := g[name]
			if !ok {
				return fmt.Sprintf("%s: member %q is missing", path, name)
			}
			if d := valueDiff(path+"."+name, gv, w[name]); d != "" {
				return d
			}
		}
		for name := range g {
			if _, ok := w[name]; !ok {
				return fmt.Sprintf("%s: unexpected member %q", path, name)
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok {
			return fmt.Sprintf("%s: got %s, want an array", path, kind(got))
		}
		if len(g) != len(w) {
			return fmt.Sprintf("%s: got %d elements, want %d", path, len(g), len(w))
		}
		for i := range w {
			if d := valueDiff(fmt.Sprintf("%s[%d]", path, i), g[i], w[i]); d != "" {
				return d
			}
		}
	case json.Number:
		g, ok := got.(json.Number)
		if !ok {
			return fmt.Sprintf("%s: got %s, want a number", path, kind(got))
		}
		gn, gerr := items.NormalizeNumber(string(g))
		wn, werr := items.NormalizeNumber(string(w))
		if gerr != nil || werr != nil || gn != wn {
			return fmt.Sprintf("%s: got number %s, want %s", path, g, w)
		}
	case string:
		g, ok := got.(string)
		if !ok {
			return fmt.Sprintf("%s: got %s, want a string", path, kind(got))
		}
		if g != w {
			return fmt.Sprintf("%s: got string %q, want %q", path, clip(g), clip(w))
		}
	case bool:
		if g, ok := got.(bool); !ok || g != w {
			return fmt.Sprintf("%s: got %v, want %v", path, got, w)
		}
	case nil:
		if got != nil {
			return fmt.Sprintf("%s: got %s, want null", path, kind(got))
		}
	default:
		return fmt.Sprintf("%s: unexpected value %T", path, want)
	}
	return ""
}

func kind(v any) string {
	switch v.(type) {
	case map[string]any:
		return "an object"
	case []any:
		return "an array"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case bool:
		return "a bool"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", v)
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
