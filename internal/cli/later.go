package cli

import (
	"errors"
	"flag"
	"fmt"
	"reflect"
	"strings"

	"github.com/peterbourgon/ff/v4"
)

// Later binds the tagged fields of a struct type as flags that only keep
// their text when parsed; Apply then sets them on a struct of that type,
// typically one decoded from a file after the flags were parsed. So a flag
// overwrites exactly its field, whatever the file held, and every bad text
// is reported together with the others.
type Later struct {
	byName map[string]*later
	order  []*later
}

// later is one field's flag: the texts given, in order.
type later struct {
	field Field
	texts []string
	def   string
	kind  string
	bool  bool
}

// BindLater adds a flag to fs for every tagged field of the struct that
// proto points to; proto's values are the flags' defaults, as help shows
// them.
func BindLater(fs *ff.FlagSet, proto any) (*Later, error) {
	l := &Later{byName: map[string]*later{}}
	for _, f := range Fields(proto) {
		v, err := f.Value(f.Addr(proto))
		if err != nil {
			return nil, err
		}
		lf := &later{field: f, def: v.String(), kind: "STRING"}
		switch t := reflect.TypeOf(f.Addr(proto)).Elem(); {
		case t.Kind() == reflect.Bool:
			lf.bool, lf.kind = true, ""
		case !isValue(f.Addr(proto)):
			lf.kind = strings.ToUpper(t.Name()) // INT, FLOAT64, DURATION, ...
		}
		if _, err := fs.AddFlag(ff.FlagConfig{ShortName: f.Short, LongName: f.Name, Usage: f.Help, Value: lf, Placeholder: lf.kind, NoPlaceholder: lf.bool}); err != nil {
			return nil, fmt.Errorf("flag %s: %w", f.Name, err)
		}
		l.byName[f.Name] = lf
		l.order = append(l.order, lf)
	}
	return l, nil
}

// Set keeps text, for Apply; a repeated flag keeps each.
func (f *later) Set(text string) error {
	f.texts = append(f.texts, text)
	return nil
}

// String returns the field's default, as help texts show it.
func (f *later) String() string { return f.def }

// IsBoolFlag tells the flag parser that a bool field's flag needs no value.
func (f *later) IsBoolFlag() bool { return f.bool }

// Given reports whether the flag called name was given (on the command
// line or in the environment).
func (l *Later) Given(name string) bool {
	f, ok := l.byName[name]
	return ok && len(f.texts) > 0
}

// Apply sets, on the struct that cfg points to, every field whose flag was
// given (or, with names, only those), each from its texts in order, and
// returns every error, each beginning with the flag's name.
func (l *Later) Apply(cfg any, names ...string) error {
	var errs []error
	for _, f := range l.order {
		if len(names) > 0 && !contains(names, f.field.Name) {
			continue
		}
		for _, text := range f.texts {
			v, err := f.field.Value(f.field.Addr(cfg))
			if err == nil {
				err = v.Set(text)
			}
			for _, err := range unjoin(err) {
				errs = append(errs, fmt.Errorf("%s: %w", f.field.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// isValue reports whether p reads its own text form.
func isValue(p any) bool {
	_, ok := p.(flag.Value)
	return ok
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// unjoin returns the errors that err joins, err itself if it joins none,
// or nothing for nil; so that each is reported with the flag's name.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	if err == nil {
		return nil
	}
	return []error{err}
}
