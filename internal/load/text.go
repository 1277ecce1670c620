package load

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// The parts of a scenario that are lists (stages, payload classes,
// thresholds) and mixes have a text form, the one their flags take: items
// separated by commas, such as "30s:100,1m:100". A scenario file may use it
// too, for the whole list or for each item. The parsers here read that form
// and report every bad item, not only the first.

// parseList reads a comma-separated list, each item with parse; empty
// items are skipped. It returns every item's error, joined.
func parseList[T any](s string, parse func(string) (T, error)) ([]T, error) {
	var out []T
	var errs []error
	for _, part := range strings.Split(s, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		v, err := parse(part)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, v)
	}
	return out, errors.Join(errs...)
}

// unmarshalList decodes a YAML node into a list: a scalar in the text form
// (parsed with parse), or a sequence whose items are each a text or, when
// keys are given, a mapping with those keys decoded into T. Every error is
// returned as one *yaml.TypeError, each with its line, so that the decoder
// goes on and reports the rest of the file's errors beside them.
func unmarshalList[T any](n *yaml.Node, parse func(string) (T, error), keys ...string) ([]T, error) {
	var out []T
	var errs []string
	add := func(line int, err error) {
		var te *yaml.TypeError
		if errors.As(err, &te) {
			errs = append(errs, te.Errors...) // they have their lines
			return
		}
		errs = append(errs, atLine(line, err)...)
	}
	switch n.Kind {
	case yaml.ScalarNode:
		v, err := parseList(n.Value, parse)
		if err != nil {
			add(n.Line, err)
		}
		out = v
	case yaml.SequenceNode:
		out = []T{} // an empty sequence is an empty list, not an absent one
		for _, item := range n.Content {
			var v T
			var err error
			switch {
			case item.Kind == yaml.ScalarNode:
				v, err = parse(item.Value)
			case item.Kind == yaml.MappingNode && len(keys) > 0:
				if unknown := unknownKeys(item, keys, fmt.Sprintf("%T", v)); len(unknown) > 0 {
					errs = append(errs, unknown...)
					continue
				}
				err = item.Decode(&v)
			case len(keys) > 0:
				err = fmt.Errorf("want a text or a mapping of %s", strings.Join(keys, ", "))
			default:
				err = errors.New("want a text")
			}
			if err != nil {
				add(item.Line, err)
				continue
			}
			out = append(out, v)
		}
	default:
		add(n.Line, errors.New("want a list, or its text form such as a,b,c"))
	}
	if len(errs) > 0 {
		return nil, &yaml.TypeError{Errors: errs}
	}
	return out, nil
}

// unknownKeys returns an error for each key of the mapping n that is not
// one of keys, in the words the YAML decoder uses for a struct's unknown
// fields: a scenario file's typo never passes silently.
func unknownKeys(n *yaml.Node, keys []string, typ string) []string {
	var errs []string
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; !slices.Contains(keys, k.Value) {
			errs = append(errs, fmt.Sprintf("line %d: field %s not found in type %s", k.Line, k.Value, typ))
		}
	}
	return errs
}

// atLine returns each error that err joins, prefixed with the line, as the
// YAML decoder writes its own.
func atLine(line int, err error) []string {
	var errs []string
	for _, e := range unjoin(err) {
		errs = append(errs, fmt.Sprintf("line %d: %v", line, e))
	}
	return errs
}

// unjoin returns the errors that err joins, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}
