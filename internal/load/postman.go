package load

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Scopes of an open-model collection run's captured values.
const (
	// ScopeShared shares what the responses captured between every
	// sender: an item one created, another reads. The default.
	ScopeShared = "shared"
	// ScopeVU keeps what a sender's responses captured to that sender, as
	// a session: a login's token, the cart it filled.
	ScopeVU = "vu"
)

// Postman runs the requests of a Postman collection (format v2.0 or v2.1,
// read by package postman) instead of the CRUD mix. In the closed model
// each virtual user iterates the collection in order, as Postman's runner
// does, with its own variables; in the open model the requests are a
// weighted mix sent at the planned rate, chained through the variables
// their responses captured (see postmanWorkload). A request is an error
// when one of its checks fails, or, when none applies, at the API's error
// status.
type Postman struct {
	// File is the collection.
	File string `flag:"postman" help:"run a Postman collection (v2.0 or v2.1; a file or an http(s) URL): in the closed model each user iterates it in order, as Postman's runner; in the open model its requests are a mix chained through what their responses captured" yaml:"file,omitempty" json:"file,omitempty"`
	// Env and Globals are Postman environment and globals files.
	Env     string `flag:"postman-env" help:"Postman environment (a file or an http(s) URL)" yaml:"env,omitempty" json:"env,omitempty"`
	Globals string `flag:"postman-globals" help:"Postman globals (a file or an http(s) URL)" yaml:"globals,omitempty" json:"globals,omitempty"`
	// Folders picks the folders to run, by name or path; none runs all.
	Folders []string `flag:"postman-folder" help:"run this folder of the collection, by name or path such as Articles/Comments (repeatable; default all)" yaml:"folders,omitempty" json:"folders,omitempty"`
	// Vars set environment variables over the files' values, as Newman's
	// --env-var does.
	Vars Variables `flag:"postman-var" help:"set an environment variable over the files, NAME=VALUE (repeatable), as Newman's --env-var" yaml:"vars,omitempty" json:"vars,omitempty"`
	// Setup are folders run once before measuring, in order, such as a
	// login: what they capture, every user starts with. A setup request
	// that fails stops the run.
	Setup []string `flag:"postman-setup" help:"run this folder once before measuring, such as a login; every user starts with what it captured (repeatable)" yaml:"setup,omitempty" json:"setup,omitempty"`
	// Mix weighs the requests of an open-model run by name; "*" weighs the
	// others. Empty weighs every request the same.
	Mix Weights `flag:"postman-mix" help:"open model: weights of the collection's requests, NAME=WEIGHT,... where * weighs the others (default: all equal)" yaml:"mix,omitempty" json:"mix,omitempty"`
	// Scope is ScopeShared (the default when empty) or ScopeVU.
	Scope string `flag:"postman-scope" help:"open model: what responses captured is shared by every sender (shared, the default) or kept by each (vu, such as session tokens)" yaml:"scope,omitempty" json:"scope,omitempty"`
	// Strict fails the run when the collection has anything not
	// understood (script statements, auth types, bodies).
	Strict bool `flag:"postman-strict" help:"fail when the collection has script statements, auth types or bodies that are not understood" yaml:"strict,omitempty" json:"strict,omitempty"`
}

func (p *Postman) validate(s *Scenario) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.File == "" {
		if p.Env != "" || p.Globals != "" || len(p.Folders) > 0 || len(p.Vars) > 0 || len(p.Setup) > 0 ||
			len(p.Mix) > 0 || p.Scope != "" || p.Strict {
			add("postman: its settings need a collection (postman.file, --postman)")
		}
		return errs
	}
	if s.Target != "" {
		add("target %q: a collection's requests go to their own URLs; give a base URL as a variable (--postman-var baseUrl=URL)", s.Target)
	}
	if s.OpenAPI != "" {
		add("openapi: a run is of a collection or of an OpenAPI document's API, not both")
	}
	switch p.Scope {
	case "", ScopeShared, ScopeVU:
	default:
		add("postman.scope %q: must be %s or %s", p.Scope, ScopeShared, ScopeVU)
	}
	if s.Model == ModelClosed {
		if len(p.Mix) > 0 {
			add("postman.mix: weighs the open model's requests; in the closed model each user iterates the collection in order")
		}
		if p.Scope != "" && p.Scope != ScopeShared {
			add("postman.scope %s: applies to the open model; in the closed model each user has its own variables", p.Scope)
		}
	}
	for _, k := range sortedKeys(p.Mix) {
		if w := p.Mix[k]; !finite(w) || w < 0 {
			add("postman.mix.%s %v: weight must be a number >= 0", k, w)
		}
	}
	for k := range p.Vars {
		if k == "" {
			add("postman.vars: a variable has no name")
		}
	}
	return errs
}

// Variables are variables by name. As a flag (flag.Value), each value is
// one variable, NAME=VALUE, added to the others.
type Variables map[string]string

// Set adds the variable s gives as NAME=VALUE.
func (v *Variables) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || strings.TrimSpace(name) == "" {
		return fmt.Errorf("%q: want NAME=VALUE", s)
	}
	if *v == nil {
		*v = Variables{}
	}
	(*v)[strings.TrimSpace(name)] = value
	return nil
}

// String returns the variables as NAME=VALUE pairs, names in order.
func (v Variables) String() string {
	parts := make([]string, 0, len(v))
	for _, k := range sortedKeys(v) {
		parts = append(parts, k+"="+v[k])
	}
	return strings.Join(parts, ",")
}

// Weights weigh requests by name. Their text form is NAME=WEIGHT pairs
// separated by commas, as a Mix's, except that a name may hold commas and
// equals signs (a collection's names do): a piece without "=" belongs to
// the name of the pair after it, and a pair's weight follows its last
// "=". A scenario file may give the text or a mapping.
type Weights map[string]float64

// ParseWeights reads weights such as "Create an item=1,Read an item=5",
// reporting every bad pair.
func ParseWeights(s string) (Weights, error) {
	var pieces []string
	pending := ""
	for _, part := range strings.Split(s, ",") {
		if !strings.Contains(part, "=") {
			pending += part + ","
			continue
		}
		pieces = append(pieces, pending+part)
		pending = ""
	}
	if strings.TrimSpace(strings.ReplaceAll(pending, ",", "")) != "" {
		pieces = append(pieces, strings.TrimSuffix(pending, ","))
	}
	w := Weights{}
	var errs []string
	for _, part := range pieces {
		i := strings.LastIndex(part, "=")
		if i < 0 || strings.TrimSpace(part[:i]) == "" {
			errs = append(errs, fmt.Sprintf("%q: want NAME=WEIGHT", strings.TrimSpace(part)))
			continue
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(part[i+1:]), 64)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%q: bad weight: %v", strings.TrimSpace(part), err))
			continue
		}
		w[strings.TrimSpace(part[:i])] = f
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return w, nil
}

// Set replaces the weights with the ones s describes (flag.Value).
func (w *Weights) Set(s string) error {
	v, err := ParseWeights(s)
	if err != nil {
		return err
	}
	*w = v
	return nil
}

// String returns the weights in their text form, names in order.
func (w Weights) String() string {
	return Mix(w).String()
}

// UnmarshalYAML reads weights from their text form or from a mapping.
func (w *Weights) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		v, err := ParseWeights(n.Value)
		if err != nil {
			return &yaml.TypeError{Errors: atLine(n.Line, err)}
		}
		*w = v
		return nil
	}
	var m map[string]float64
	if err := n.Decode(&m); err != nil {
		return err
	}
	*w = m
	return nil
}

// weight returns the weight of the request called name: its own, else
// "*"'s, else (with no weights at all) 1.
func (w Weights) weight(name string) float64 {
	if len(w) == 0 {
		return 1
	}
	if v, ok := w[name]; ok {
		return v
	}
	return w["*"]
}

// opNamesOf names a collection's requests for the metrics, the mix and
// the thresholds: a request's own name, or where that is not unique its
// folder path and name ("Articles / All Articles"), numbered where even
// that repeats.
func opNamesOf(names []string, folders [][]string) []string {
	count := map[string]int{}
	for _, n := range names {
		count[n]++
	}
	out := make([]string, len(names))
	seen := map[string]int{}
	for i, n := range names {
		if count[n] > 1 && len(folders[i]) > 0 {
			n = strings.Join(folders[i], " / ") + " / " + n
		}
		out[i] = n
		seen[n]++
	}
	again := map[string]int{}
	for i, n := range out {
		if seen[n] > 1 {
			again[n]++
			if again[n] > 1 {
				out[i] = n + " (" + strconv.Itoa(again[n]) + ")"
			}
		}
	}
	return out
}

// checkThresholdOps reports each threshold that names an operation the
// run does not have.
func checkThresholdOps(ts Thresholds, names []string) error {
	var errs []string
	for _, t := range ts {
		if t.Op != "" && !slices.Contains(names, t.Op) {
			errs = append(errs, fmt.Sprintf("threshold %q: no operation %q in the run (its operations: %s)", t.Source, t.Op, strings.Join(names, ", ")))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}
