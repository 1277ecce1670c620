package load

import (
	"fmt"
	"net"
	"strings"

	"go.yaml.in/yaml/v3"
)

// ConnectTo maps the address a URL names (HOST:PORT) to the one to connect
// to instead, as curl's --connect-to does: a collection whose URLs name a
// public service runs against a local stand-in, or a production name
// against a staging address, with the URL, the Host header and the TLS
// server name unchanged. Its text form is HOST:PORT=ADDR:PORT; as a flag
// (flag.Value) each value adds one.
type ConnectTo map[string]string

// Set adds the mapping s gives as HOST:PORT=ADDR:PORT.
func (c *ConnectTo) Set(s string) error {
	from, to, ok := strings.Cut(s, "=")
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	if !ok {
		return fmt.Errorf("%q: want HOST:PORT=ADDR:PORT", s)
	}
	for _, hp := range []string{from, to} {
		host, port, err := net.SplitHostPort(hp)
		if err != nil || host == "" || port == "" {
			return fmt.Errorf("%q: %q is not HOST:PORT", s, hp)
		}
	}
	if *c == nil {
		*c = ConnectTo{}
	}
	(*c)[strings.ToLower(from)] = to
	return nil
}

// String returns the mappings in their text form, in order.
func (c ConnectTo) String() string {
	parts := make([]string, 0, len(c))
	for _, k := range sortedKeys(c) {
		parts = append(parts, k+"="+c[k])
	}
	return strings.Join(parts, ",")
}

// UnmarshalYAML reads a mapping of HOST:PORT to ADDR:PORT, or a list of
// HOST:PORT=ADDR:PORT texts, checking each.
func (c *ConnectTo) UnmarshalYAML(n *yaml.Node) error {
	out := ConnectTo{}
	switch n.Kind {
	case yaml.MappingNode:
		var m map[string]string
		if err := n.Decode(&m); err != nil {
			return err
		}
		for _, k := range sortedKeys(m) {
			if err := out.Set(k + "=" + m[k]); err != nil {
				return &yaml.TypeError{Errors: atLine(n.Line, err)}
			}
		}
	default:
		items, err := unmarshalList(n, func(s string) (string, error) { return s, nil })
		if err != nil {
			return err
		}
		for _, s := range items {
			if err := out.Set(s); err != nil {
				return &yaml.TypeError{Errors: atLine(n.Line, err)}
			}
		}
	}
	*c = out
	return nil
}

// addr returns the address to dial for addr (HOST:PORT, as a client
// dials it).
func (c ConnectTo) addr(addr string) string {
	if to, ok := c[strings.ToLower(addr)]; ok {
		return to
	}
	return addr
}
