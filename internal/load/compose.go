package load

import (
	"context"
	"errors"
	"fmt"
	"net/url"

	"github.com/surgehq/surge/internal/load/openapi"
)

// Settings are the settings given over a scenario file, such as flags, by
// their flag names (package cli's Later is one): Apply sets the fields of
// those given on a scenario, Given tells whether one was.
type Settings interface {
	Apply(cfg any, names ...string) error
	Given(name string) bool
}

// Compose builds a run's scenario as a command's settings and arguments
// describe it: the defaults, the scenario file over them (if any), the
// settings given over it, the target (args holds at most one, which may
// not contradict a target setting), what settings mean beyond their field
// (Settled), an OpenAPI document's API shape under the settings given
// (ApplyOpenAPI), then Validate. It returns every error at once, and the
// notes for people that the OpenAPI document gave.
func Compose(file string, args []string, set Settings) (Scenario, []string, error) {
	s, fileErr := DefaultScenario(), error(nil)
	if file != "" {
		s, fileErr = ReadScenarioFile(file)
	}
	errs := []error{fileErr, set.Apply(&s)}
	switch {
	case len(args) > 1:
		errs = append(errs, fmt.Errorf("want at most one argument, the target URL; got %q", args))
	case len(args) == 1 && set.Given("target") && args[0] != s.Target:
		errs = append(errs, errors.New("the target is given twice, as --target and as an argument"))
	case len(args) == 1:
		s.Target = args[0]
	}
	given := func(name string) bool { return set.Given(name) || name == "target" && len(args) == 1 }
	s.Settled(given, file != "")
	var notes []string
	if fileErr == nil && s.OpenAPI != "" {
		var err error
		notes, err = s.ApplyOpenAPI(given)
		errs = append(errs, err)
	}
	if fileErr == nil { // else s is not whole
		errs = append(errs, s.Validate()...)
	}
	return s, notes, errors.Join(errs...)
}

// ApplyOpenAPI reads the scenario's OpenAPI document and takes the API's
// shape from its collection resource (openapi.CRUD): the base path (the
// server URL's), the collection path, where a create response has the
// id, the create, update and patch bodies with the patch's media type,
// and the list query. A field whose setting was given keeps its value
// (given tells by flag name), and operations the document lacks get no
// weight in the mix. It returns what was chosen and what could not be
// mapped, a line each, for people.
func (s *Scenario) ApplyOpenAPI(given func(name string) bool) ([]string, error) {
	data, err := readSource(context.Background(), s.OpenAPI)
	if err != nil {
		return nil, fmt.Errorf("openapi: %w", err)
	}
	doc, err := openapi.Read(data)
	if err != nil {
		return nil, fmt.Errorf("openapi %s: %w", s.OpenAPI, err)
	}
	crud, err := doc.CRUD()
	if err != nil {
		return nil, fmt.Errorf("openapi %s: %w", s.OpenAPI, err)
	}
	a := &s.API
	for _, f := range []struct {
		flag  string
		field *string
		value string
	}{
		{"base-path", &a.BasePath, crud.BasePath},
		{"items-path", &a.Items, crud.Items},
		{"id-from", &a.IDFrom, crud.IDFrom},
		{"id-path", &a.IDPath, crud.IDPath},
		{"body", &a.Body, crud.Body},
		{"update-body", &a.UpdateBody, crud.UpdateBody},
		{"patch-body", &a.Patch, crud.PatchBody},
		{"", &a.PatchType, crud.PatchType},
		{"list-query", &a.ListQuery, crud.ListQuery},
	} {
		switch {
		case f.flag != "" && given(f.flag):
			// The setting given wins over the document.
		case f.value != "" || f.flag == "base-path" || f.flag == "list-query":
			// An empty base path or list query is the document's answer
			// too: none.
			*f.field = f.value
		}
	}
	if !given("items-path") {
		a.Batch = a.Items + "/_batch"
	}
	var notes []string
	for _, line := range crud.Chosen {
		notes = append(notes, "openapi: "+line)
	}
	for _, line := range crud.Unmapped {
		notes = append(notes, "openapi: not mapped: "+line)
	}
	mix := Mix{}
	for k, w := range s.Mix {
		mix[k] = w
	}
	for _, op := range []struct {
		name string
		op   *openapi.Operation
	}{{"create", crud.Create}, {"read", crud.Read}, {"update", crud.Update}, {"patch", crud.Patch},
		{"delete", crud.Delete}, {"list", crud.List}} {
		if op.op == nil && mix[op.name] > 0 {
			notes = append(notes, fmt.Sprintf("openapi: mix: %s gets no weight (was %g): the document has no such operation", op.name, mix[op.name]))
			mix[op.name] = 0
		}
	}
	s.Mix = mix
	if u, err := url.Parse(s.OpenAPI); err == nil && isURL(s.OpenAPI) && !given("target") && s.Target == DefaultScenario().Target {
		// A document fetched from the API itself, as surge serve's
		// /openapi.json, names where the API is.
		s.Target = u.Scheme + "://" + u.Host
		notes = append(notes, "openapi: target "+s.Target+", where the document is")
	}
	return notes, nil
}
