package postman

import (
	"encoding/json"
	"fmt"
	"maps"
)

// Scope holds a run's variables in Postman's scopes. A name is looked up
// from the narrowest scope to the widest: local (pm.variables), then the
// environment, the collection's variables and the globals, as Postman
// does (iteration data, which Postman puts between local and environment,
// is not supported).
//
// A Scope is not safe for concurrent use: a virtual user owns one (Clone
// gives each its own copy of a shared starting point).
type Scope struct {
	vars [numTargets]map[string]string
}

// NewScope returns a scope with the collection's variables and those of
// an environment and a globals file (either may be nil).
func NewScope(c *Collection, env, globals *VariableFile) *Scope {
	s := &Scope{}
	for i := range s.vars {
		s.vars[i] = map[string]string{}
	}
	if c != nil {
		for _, v := range c.Variables {
			s.vars[CollectionVars][v.Key] = v.Value
		}
	}
	if env != nil {
		for _, v := range env.Values {
			s.vars[Environment][v.Key] = v.Value
		}
	}
	if globals != nil {
		for _, v := range globals.Values {
			s.vars[Global][v.Key] = v.Value
		}
	}
	return s
}

// Clone returns an independent copy of s.
func (s *Scope) Clone() *Scope {
	c := &Scope{}
	for i, m := range s.vars {
		c.vars[i] = maps.Clone(m)
		if c.vars[i] == nil {
			c.vars[i] = map[string]string{}
		}
	}
	return c
}

// Get returns a variable's value from the narrowest scope that has it.
func (s *Scope) Get(name string) (string, bool) {
	for _, m := range s.vars {
		if v, ok := m[name]; ok {
			return v, true
		}
	}
	return "", false
}

// GetIn returns a variable's value in one scope only.
func (s *Scope) GetIn(t Target, name string) (string, bool) {
	if t >= numTargets {
		return "", false
	}
	v, ok := s.vars[t][name]
	return v, ok
}

// Has reports whether any scope has the variable.
func (s *Scope) Has(name string) bool {
	_, ok := s.Get(name)
	return ok
}

// Set sets a variable in one scope.
func (s *Scope) Set(t Target, name, value string) {
	if t >= numTargets {
		return
	}
	if s.vars[t] == nil {
		s.vars[t] = map[string]string{}
	}
	s.vars[t][name] = value
}

// Unset removes a variable from one scope.
func (s *Scope) Unset(t Target, name string) {
	if t < numTargets {
		delete(s.vars[t], name)
	}
}

// Clear removes every variable of one scope: Postman's runner clears the
// local variables (pm.variables) at the start of each iteration.
func (s *Scope) Clear(t Target) {
	if t < numTargets {
		clear(s.vars[t])
	}
}

// lookup reads a variable as a script's get does: pm.variables.get looks
// through every scope (any), the others in their own.
func (s *Scope) lookup(name string, t Target, any bool) (string, bool) {
	if s == nil {
		return "", false
	}
	if any {
		return s.Get(name)
	}
	return s.GetIn(t, name)
}

// Variable is a name and its value.
type Variable struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// VariableFile is a Postman environment or globals file: the variables it
// enables, in its order.
type VariableFile struct {
	Name string
	// Scope is what the file says it is: "environment" or "globals"
	// (empty in older exports).
	Scope  string
	Values []Variable
}

// MaxFileSize bounds a collection, environment or globals file.
const MaxFileSize = 64 << 20

// ParseVariables reads an environment or globals file as Postman exports
// them: {"name": ..., "values": [{"key", "value", "enabled"}]}. Disabled
// values are left out. A globals export that is a bare array of values is
// read too.
func ParseVariables(data []byte) (*VariableFile, error) {
	if len(data) > MaxFileSize {
		return nil, fmt.Errorf("parse variables: larger than %d MiB", MaxFileSize>>20)
	}
	var raw struct {
		Name   string        `json:"name"`
		Scope  string        `json:"_postman_variable_scope"`
		Values []rawVariable `json:"values"`
	}
	trimmed := trimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '[' {
		if err := json.Unmarshal(data, &raw.Values); err != nil {
			return nil, fmt.Errorf("parse variables: %w", err)
		}
	} else if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("parse variables: %w", err)
	}
	f := &VariableFile{Name: raw.Name, Scope: raw.Scope}
	for _, v := range raw.Values {
		if !v.enabled() || v.name() == "" {
			continue
		}
		f.Values = append(f.Values, Variable{Key: v.name(), Value: v.Value.S})
	}
	return f, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n' || b[0] == 0xEF || b[0] == 0xBB || b[0] == 0xBF) {
		b = b[1:]
	}
	return b
}
