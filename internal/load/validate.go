package load

import (
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"
)

// Validate checks the scenario and returns every problem found, each
// naming the field as the YAML file spells it.
func (s *Scenario) Validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if s.Postman.File != "" {
		errs = append(errs, s.Postman.validate(s)...)
	} else if u, err := url.Parse(s.Target); err != nil {
		add("target %q: %v", s.Target, err)
	} else if u.Scheme != "http" && u.Scheme != "https" {
		add("target %q: scheme must be http or https", s.Target)
	} else if u.Host == "" {
		add("target %q: no host", s.Target)
	} else if u.RawQuery != "" || u.Fragment != "" {
		add("target %q: must not have a query or fragment (set api.list_query instead)", s.Target)
	}
	switch s.Model {
	case ModelOpen, ModelClosed:
	default:
		add("model %q: must be %s or %s", s.Model, ModelOpen, ModelClosed)
	}
	if !finite(s.Rate) || s.Rate < 0 {
		add("rate %v: must be a number >= 0", s.Rate)
	}
	if s.VUs < 0 || s.VUs > 100_000 {
		add("vus %d: must be between 0 and 100000", s.VUs)
	}
	if s.Duration < 0 {
		add("duration %s: must not be negative", s.Duration)
	}
	if s.Requests < 0 {
		add("requests %d: must not be negative", s.Requests)
	}
	if s.Think < 0 {
		add("think %s: must not be negative", s.Think)
	}
	if s.Iterations < 0 {
		add("iterations %d: must not be negative", s.Iterations)
	} else if s.Iterations > 0 && s.Model != ModelClosed {
		add("iterations %d: bound the closed model's users (--model closed)", s.Iterations)
	}
	if s.Postman.File == "" {
		errs = append(errs, s.Postman.validate(s)...)
	}
	if len(s.Stages) > 0 {
		if !finite(s.StartRate) || s.StartRate < 0 {
			add("start_rate %v: must be a number >= 0", s.StartRate)
		}
		for i, st := range s.Stages {
			if st.Duration < 0 {
				add("stages[%d].duration %s: must not be negative", i, st.Duration)
			}
			if !finite(st.Target) || st.Target < 0 {
				add("stages[%d].target %v: must be a number >= 0", i, st.Target)
			}
		}
	} else if s.Preset != "" && !slices.Contains(Presets, s.Preset) {
		add("preset %q: must be one of %s", s.Preset, strings.Join(Presets, ", "))
	}
	if len(errs) == 0 {
		if _, _, err := s.Plan(); err != nil {
			errs = append(errs, err)
		}
	}
	if s.MaxInFlight < 1 || s.MaxInFlight > 100_000 {
		add("max_inflight %d: must be between 1 and 100000", s.MaxInFlight)
	}
	if s.Timeout <= 0 {
		add("timeout %s: must be positive", s.Timeout)
	}
	if s.LateAfter < 0 {
		add("late_after %s: must not be negative", s.LateAfter)
	}
	if s.MaxLag < 0 {
		add("max_lag %s: must not be negative", s.MaxLag)
	}
	if s.Grace < 0 {
		add("grace %s: must not be negative", s.Grace)
	}
	switch s.Client {
	case ClientFast:
		if s.HTTP2 {
			add("http2: needs client %s (fasthttp speaks HTTP/1.1 only)", ClientStd)
		}
	case ClientStd:
	default:
		add("client %q: must be %s or %s", s.Client, ClientFast, ClientStd)
	}
	for k, v := range s.Headers {
		if !validHeaderName(k) {
			add("headers: %q is not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			add("headers: the value of %q has a line break or NUL", k)
		}
	}
	errs = append(errs, validateMix("mix", s.Mix, Operations)...)
	if s.API.Ops == "" {
		for _, op := range []string{"ops", "scan", "query-index", "consistent-read"} {
			if s.Mix[op] > 0 {
				add("mix: %s goes through the dispatcher, and api.ops is empty", op)
			}
		}
	}
	switch s.IDs.Distribution {
	case DistUniform:
	case DistZipf:
		if !finite(s.IDs.ZipfS) || s.IDs.ZipfS <= 1 {
			add("ids.zipf_s %v: must be > 1", s.IDs.ZipfS)
		}
	default:
		add("ids.distribution %q: must be %s or %s", s.IDs.Distribution, DistUniform, DistZipf)
	}
	if s.IDs.Preseed < 0 || s.IDs.Preseed > 10_000_000 {
		add("ids.preseed %d: must be between 0 and 10000000", s.IDs.Preseed)
	}
	if s.IDs.PoolSize < 1 || s.IDs.PoolSize > 100_000_000 {
		add("ids.pool_size %d: must be between 1 and 100000000", s.IDs.PoolSize)
	}
	if len(s.Payloads) == 0 {
		add("payloads: at least one size class is needed")
	}
	var pw float64
	for i, p := range s.Payloads {
		if p.Size < 2 || p.Size > MaxPayload {
			add("payloads[%d].size %s: must be between 2B and %s", i, p.Size, ByteSize(MaxPayload))
		}
		if !finite(p.Weight) || p.Weight < 0 {
			add("payloads[%d].weight %v: must be a number >= 0", i, p.Weight)
		}
		pw += p.Weight
	}
	if len(s.Payloads) > 0 && !(pw > 0) {
		add("payloads: the weights add up to zero")
	}
	errs = append(errs, s.API.validate()...)
	// Thresholds are parsed where their text comes in; one made in code
	// without ParseThreshold has no comparison. A collection's request
	// names are checked once the collection is read (Run).
	for i, t := range s.Thresholds {
		switch {
		case t.Stat == "" || t.Cmp == "":
			add("thresholds[%d] %q: not a parsed threshold (use ParseThreshold)", i, t.Source)
			continue
		case s.Postman.File != "":
			continue
		case t.Stat == "checks":
			add("threshold %q: checks are a Postman collection's (--postman)", t.Source)
		}
		if _, ok := opByName(t.Op); t.Op != "" && !ok {
			add("threshold %q: unknown operation %q (want one of %s)", t.Source, t.Op, strings.Join(opNames[:], ", "))
		}
	}
	for k, v := range s.ConnectTo {
		if _, _, err := net.SplitHostPort(k); err != nil {
			add("connect_to %q: not HOST:PORT", k)
		}
		if _, _, err := net.SplitHostPort(v); err != nil {
			add("connect_to %q: %q is not ADDR:PORT", k, v)
		}
	}
	return errs
}

func (a *API) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, p := range []struct{ name, v string }{
		{"api.base_path", a.BasePath}, {"api.items", a.Items}, {"api.batch", a.Batch}, {"api.ops", a.Ops},
	} {
		if p.v != "" && (!strings.HasPrefix(p.v, "/") || strings.ContainsAny(p.v, "?# \t\r\n")) {
			add("%s %q: must start with / and have no query, fragment or space", p.name, p.v)
		}
	}
	if a.Items == "" {
		add("api.items: the collection path is needed")
	}
	switch a.IDFrom {
	case IDFromJSON:
		if a.IDPath == "" {
			add("api.id_path: needed when api.id_from is %s", IDFromJSON)
		}
		for _, k := range strings.Split(a.IDPath, ".") {
			if k == "" && a.IDPath != "" {
				add("api.id_path %q: has an empty segment", a.IDPath)
				break
			}
		}
	case IDFromLocation:
	default:
		add("api.id_from %q: must be %s or %s", a.IDFrom, IDFromJSON, IDFromLocation)
	}
	if err := checkTemplate(a.Body); err != nil {
		add("api.body: %v", err)
	}
	if err := checkTemplate(a.Patch); err != nil {
		add("api.patch: %v", err)
	}
	if a.UpdateBody != "" {
		if err := checkTemplate(a.UpdateBody); err != nil {
			add("api.update_body: %v", err)
		}
	}
	if a.PatchType == "" || strings.ContainsAny(a.PatchType, "\r\n") {
		add("api.patch_type %q: must be a media type", a.PatchType)
	}
	if strings.ContainsAny(a.ListQuery, "# \t\r\n") || strings.HasPrefix(a.ListQuery, "?") {
		add("api.list_query %q: must be a query string without ? or #", a.ListQuery)
	}
	if a.BatchSize < 1 || a.BatchSize > 1000 {
		add("api.batch_size %d: must be between 1 and 1000", a.BatchSize)
	}
	if a.ErrorStatus < 100 || a.ErrorStatus > 600 {
		add("api.error_status %d: must be between 100 and 600", a.ErrorStatus)
	}
	errs = append(errs, validateMix("api.ops_mix", a.OpsMix, DispatcherOps)...)
	return errs
}

func validateMix(field string, mix map[string]float64, known []string) []error {
	var errs []error
	var total float64
	for _, k := range sortedKeys(mix) {
		w := mix[k]
		if !slices.Contains(known, k) {
			errs = append(errs, fmt.Errorf("%s: unknown operation %q (want %s)", field, k, strings.Join(known, ", ")))
		}
		if !finite(w) || w < 0 {
			errs = append(errs, fmt.Errorf("%s.%s %v: weight must be a number >= 0", field, k, w))
			continue
		}
		total += w
	}
	if !(total > 0) {
		errs = append(errs, fmt.Errorf("%s: the weights add up to zero", field))
	}
	return errs
}

func finite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func validHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte("\"(),/:;<=>?@[\\]{}", c) >= 0 {
			return false
		}
	}
	return true
}
