package postman

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
)

// The raw forms of a collection file, as the Postman Collection Format
// v2.0.0 and v2.1.0 schemas describe them. The two differ in a few places
// that these types accept both of: an auth's parameters are an object in
// v2.0 and a list of {key, value} in v2.1; a URL may be a string or an
// object; a script's exec a string or a list of lines; headers a list or
// a string of lines.

type rawCollection struct {
	Info     rawInfo         `json:"info"`
	Item     []rawItem       `json:"item"`
	Event    []rawEvent      `json:"event"`
	Variable []rawVariable   `json:"variable"`
	Auth     json.RawMessage `json:"auth"`
	Behavior rawBehavior     `json:"protocolProfileBehavior"`
	// A v1 collection has requests and an order instead of items.
	Requests json.RawMessage `json:"requests"`
}

type rawInfo struct {
	Name   string `json:"name"`
	Schema string `json:"schema"`
}

type rawItem struct {
	Name     string          `json:"name"`
	Item     *[]rawItem      `json:"item"` // present: a folder
	Request  json.RawMessage `json:"request"`
	Event    []rawEvent      `json:"event"`
	Variable []rawVariable   `json:"variable"`
	Auth     json.RawMessage `json:"auth"`
	Behavior rawBehavior     `json:"protocolProfileBehavior"`
}

type rawBehavior struct {
	DisableBodyPruning *bool `json:"disableBodyPruning"`
}

type rawRequest struct {
	Method string          `json:"method"`
	URL    json.RawMessage `json:"url"`
	Header json.RawMessage `json:"header"`
	Body   *rawBody        `json:"body"`
	Auth   json.RawMessage `json:"auth"`
}

type rawURL struct {
	Raw      string          `json:"raw"`
	Protocol string          `json:"protocol"`
	Host     json.RawMessage `json:"host"`
	Port     string          `json:"port"`
	Path     json.RawMessage `json:"path"`
	Query    []rawKV         `json:"query"`
	Variable []rawVariable   `json:"variable"`
}

// rawKV is a header, a query parameter, a url-encoded or a form-data
// field.
type rawKV struct {
	Key         flexString `json:"key"`
	Value       flexString `json:"value"`
	Disabled    bool       `json:"disabled"`
	Enabled     *bool      `json:"enabled"` // v1 leftovers
	Type        string     `json:"type"`
	ContentType string     `json:"contentType"`
}

func (kv rawKV) on() bool { return !kv.Disabled && (kv.Enabled == nil || *kv.Enabled) }

type rawBody struct {
	Mode       string          `json:"mode"`
	Raw        flexString      `json:"raw"`
	URLEncoded []rawKV         `json:"urlencoded"`
	FormData   []rawKV         `json:"formdata"`
	GraphQL    *rawGraphQL     `json:"graphql"`
	File       json.RawMessage `json:"file"`
	Disabled   bool            `json:"disabled"`
	Options    struct {
		Raw struct {
			Language string `json:"language"`
		} `json:"raw"`
	} `json:"options"`
}

type rawGraphQL struct {
	Query     flexString `json:"query"`
	Variables flexString `json:"variables"`
}

type rawEvent struct {
	Listen   string    `json:"listen"`
	Script   rawScript `json:"script"`
	Disabled bool      `json:"disabled"`
}

type rawScript struct {
	Exec flexLines       `json:"exec"`
	Src  json.RawMessage `json:"src"`
}

type rawVariable struct {
	Key      string     `json:"key"`
	ID       string     `json:"id"`
	Value    flexString `json:"value"`
	Disabled bool       `json:"disabled"`
	Enabled  *bool      `json:"enabled"`
}

func (v rawVariable) name() string {
	if v.Key != "" {
		return v.Key
	}
	return v.ID
}

func (v rawVariable) enabled() bool { return !v.Disabled && (v.Enabled == nil || *v.Enabled) }

// flexString reads a JSON string, or a number or boolean as its text, or
// an object or array as its JSON; Null records a JSON null (a query
// parameter without a value).
type flexString struct {
	S    string
	Null bool
}

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0:
	case b[0] == '"':
		return json.Unmarshal(b, &f.S)
	case bytes.Equal(b, []byte("null")):
		f.Null = true
	default:
		f.S = string(b)
	}
	return nil
}

// flexLines reads a script's exec: a list of lines or one string.
type flexLines []string

func (f *flexLines) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = strings.Split(s, "\n")
		return nil
	}
	if bytes.Equal(b, []byte("null")) {
		*f = nil
		return nil
	}
	var lines []flexString
	if err := json.Unmarshal(b, &lines); err != nil {
		return err
	}
	out := make([]string, 0, len(lines))
	for _, l := range lines {
		// A line may itself hold line breaks; keep the numbering true.
		out = append(out, strings.Split(l.S, "\n")...)
	}
	*f = out
	return nil
}

// stringList reads a URL's host or path: a list of strings (or of
// {"value": ...} segments), or one string split at sep.
func stringList(raw json.RawMessage, sep string) []string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil || s == "" {
			return nil
		}
		return strings.Split(s, sep)
	}
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] == '{' {
			var seg struct {
				Value flexString `json:"value"`
			}
			if json.Unmarshal(it, &seg) == nil {
				out = append(out, seg.Value.S)
			}
			continue
		}
		var s flexString
		if json.Unmarshal(it, &s) == nil {
			out = append(out, s.S)
		}
	}
	return out
}

// rawAuth is an auth block: its type and its parameters by name.
type rawAuth struct {
	Type   string
	Params map[string]string
}

// parseAuth reads an auth block of either version; ok is false when raw
// is absent or null (the request inherits its parent's auth).
func parseAuth(raw json.RawMessage) (a rawAuth, ok bool, err error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return a, false, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(raw, &m); err != nil {
		return a, false, err
	}
	if t, ok := m["type"]; ok {
		if err := json.Unmarshal(t, &a.Type); err != nil {
			return a, false, err
		}
	}
	a.Params = map[string]string{}
	p := bytes.TrimSpace(m[a.Type])
	switch {
	case len(p) == 0:
	case p[0] == '[':
		var list []struct {
			Key   string     `json:"key"`
			Value flexString `json:"value"`
		}
		if err := json.Unmarshal(p, &list); err != nil {
			return a, false, err
		}
		for _, kv := range list {
			a.Params[kv.Key] = kv.Value.S
		}
	case p[0] == '{':
		var obj map[string]flexString
		if err := json.Unmarshal(p, &obj); err != nil {
			return a, false, err
		}
		for k, v := range obj {
			a.Params[k] = v.S
		}
	}
	return a, true, nil
}

// headerList reads a request's headers: a list of {key, value} or a string
// of "Name: value" lines.
func headerList(raw json.RawMessage) ([]rawKV, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, err
		}
		var out []rawKV
		for _, line := range strings.Split(s, "\n") {
			k, v, ok := strings.Cut(line, ":")
			if !ok || strings.TrimSpace(k) == "" {
				continue
			}
			kv := rawKV{Key: flexString{S: strings.TrimSpace(k)}, Value: flexString{S: strings.TrimSpace(v)}}
			if strings.HasPrefix(kv.Key.S, "//") {
				kv.Key.S = strings.TrimSpace(kv.Key.S[2:])
				kv.Disabled = true
			}
			out = append(out, kv)
		}
		return out, nil
	}
	var out []rawKV
	err := json.Unmarshal(raw, &out)
	return out, err
}

// schemaVersion returns "2.0.0" or "2.1.0" from info.schema.
func schemaVersion(schema string) string {
	for _, v := range []string{"v2.1.0", "v2.0.0", "v1.0.0"} {
		if strings.Contains(schema, "/"+v+"/") {
			return strings.TrimPrefix(v, "v")
		}
	}
	if schema == "" {
		return ""
	}
	return "unknown (" + strconv.Quote(schema) + ")"
}
