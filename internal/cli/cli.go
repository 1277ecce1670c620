// Package cli binds command-line flags, their environment variables and
// YAML settings onto configuration structs, so that a command declares a
// setting once, on the field it sets:
//
//	type CacheConfig struct {
//		TTL time.Duration `flag:"cache-ttl" help:"response cache TTL, 1s to 1h; 0 turns the cache off"`
//	}
//
// A field's tags:
//
//	flag:"NAME"    the flag's long name (and, through ff, its environment
//	               variable PREFIX_NAME); a struct field without it is
//	               walked for tagged fields of its own
//	help:"TEXT"    the flag's usage text
//	short:"C"      a one-letter short name
//	enum:"A,B"     the only values a string field takes
//	sep:","        a []string field read as one separated list (the last
//	               flag wins); without it a []string flag repeats
//
// The field's value when Bind runs is the flag's default, so a config's
// own constructor of defaults stays the one place they are set.
package cli

import (
	"encoding"
	"flag"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"
	"github.com/peterbourgon/ff/v4/ffval"
)

// Field is one tagged field of a configuration struct.
type Field struct {
	Name, Help string
	Short      rune
	Enum       []string
	Sep        string
	// Index is the field's index path from the struct Fields walked
	// (reflect.Value.FieldByIndex).
	Index []int
}

// Fields returns the tagged fields of the struct that cfg points to, in
// their order, nested structs included.
func Fields(cfg any) []Field {
	return fields(reflect.TypeOf(cfg).Elem(), nil)
}

func fields(t reflect.Type, parent []int) []Field {
	var out []Field
	for i := range t.NumField() {
		sf := t.Field(i)
		index := append(append([]int(nil), parent...), i)
		name, ok := sf.Tag.Lookup("flag")
		if !ok {
			if sf.Type.Kind() == reflect.Struct && sf.IsExported() {
				out = append(out, fields(sf.Type, index)...)
			}
			continue
		}
		f := Field{Name: name, Help: sf.Tag.Get("help"), Sep: sf.Tag.Get("sep"), Index: index}
		if s := sf.Tag.Get("short"); s != "" {
			f.Short = []rune(s)[0]
		}
		if e := sf.Tag.Get("enum"); e != "" {
			f.Enum = strings.Split(e, ",")
		}
		out = append(out, f)
	}
	return out
}

// Addr returns a pointer to the field f of the struct that cfg points to.
func (f Field) Addr(cfg any) any {
	return reflect.ValueOf(cfg).Elem().FieldByIndex(f.Index).Addr().Interface()
}

// Bind adds a flag to fs for every tagged field of the struct that cfg
// points to, each setting its field. It fails on a tag that does not fit
// its field, a mistake in the struct's declaration.
func Bind(fs *ff.FlagSet, cfg any) error {
	for _, f := range Fields(cfg) {
		v, err := f.Value(f.Addr(cfg))
		if err != nil {
			return err
		}
		if _, err := fs.AddFlag(ff.FlagConfig{ShortName: f.Short, LongName: f.Name, Usage: f.Help, Value: v}); err != nil {
			return fmt.Errorf("flag %s: %w", f.Name, err)
		}
	}
	return nil
}

// Value returns the flag.Value that sets the field p points to from text,
// as f's tags ask, with the field's current value as its default.
func (f Field) Value(p any) (flag.Value, error) {
	switch p := p.(type) {
	case *string:
		if len(f.Enum) > 0 {
			return &ffval.Enum[string]{Pointer: p, Valid: f.Enum, Default: *p}, nil
		}
		return ffval.NewValueDefault(p, *p), nil
	case *[]string:
		if f.Sep != "" {
			return &list{p: p, sep: f.Sep}, nil
		}
		return ffval.NewList(p), nil
	case *bool:
		return ffval.NewValueDefault(p, *p), nil
	case *int:
		return ffval.NewValueDefault(p, *p), nil
	case *int64:
		return ffval.NewValueDefault(p, *p), nil
	case *uint64:
		return ffval.NewValueDefault(p, *p), nil
	case *float64:
		return ffval.NewValueDefault(p, *p), nil
	case *time.Duration:
		return ffval.NewValueDefault(p, *p), nil
	case flag.Value:
		return p, nil
	case encoding.TextUnmarshaler:
		return textValue{p}, nil
	}
	return nil, fmt.Errorf("flag %s: a field of type %T cannot be a flag", f.Name, p)
}

// list is a []string flag read as one separated list, the last one
// given winning, as a string flag would.
type list struct {
	p   *[]string
	sep string
}

func (l *list) Set(s string) error {
	var out []string
	for _, part := range strings.Split(s, l.sep) {
		if part = strings.TrimSpace(part); part != "" {
			out = append(out, part)
		}
	}
	*l.p = out
	return nil
}

func (l *list) String() string {
	if l.p == nil {
		return ""
	}
	return strings.Join(*l.p, l.sep)
}

// textValue is a flag of a field that reads its own text form.
type textValue struct{ encoding.TextUnmarshaler }

func (t textValue) Set(s string) error { return t.UnmarshalText([]byte(s)) }

func (t textValue) String() string {
	if m, ok := t.TextUnmarshaler.(encoding.TextMarshaler); ok {
		if b, err := m.MarshalText(); err == nil {
			return string(b)
		}
	}
	return ""
}
