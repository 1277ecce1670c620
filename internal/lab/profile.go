package lab

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/peterbourgon/ff/v4"
	"go.yaml.in/yaml/v3"

	profiles "github.com/surgehq/surge/examples/lab"
	"github.com/surgehq/surge/internal/api/itemsapi"
	"github.com/surgehq/surge/internal/api/rest"
	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/server"
)

// Profile is one configuration the lab runs the experiment against: a
// `surge serve` configuration and the article's limits at AWS's scale,
// which the lab scales to this machine. Profiles are YAML files
// (examples/lab/README.md).
type Profile struct {
	Name        string
	Description string
	// File is where the profile was read from ("examples/lab/NAME" for an
	// embedded one).
	File string
	// Serve is the serve: section, a `surge serve --config` document.
	Serve []byte
	// Limits are the article's limits, scaled before the stack starts.
	Limits Limits
	// Pending are settings the profile needs that surge cannot run yet.
	Pending []Pending
	// Requires names `surge serve` settings the profile needs (flags, such
	// as "template"); a build without one refuses the profile.
	Requires []string
	// Functions, when set, split surge's own API into functions, a pool
	// each, by route (server.Config.Functions.List): the article's
	// provisioned concurrency on the create and read routes only.
	Functions []ProfileFunction
}

// ProfileFunction is one function of a profile that splits surge's own
// API by route. Settings left out are the serve: section's function's.
type ProfileFunction struct {
	Name string `yaml:"name" json:"name"`
	// Routes are "METHOD /pattern" of the items API (GET /items/{id});
	// "*" is every route no other function of the profile has.
	Routes []string `yaml:"routes" json:"routes"`
	// Provisioned is its provisioned concurrency (0: on demand); with it,
	// the serve: section's target tracking, maximum and schedule apply.
	Provisioned int `yaml:"provisioned" json:"provisioned,omitempty"`
	// MemoryMB is its memory (0: the serve: section's).
	MemoryMB int `yaml:"memory" json:"memoryMB,omitempty"`
}

// Limits are the article's limits at AWS's scale.
type Limits struct {
	// StageRate and StageBurst are API Gateway's stage throttle, requests
	// a second (the article: 1,000); 0 for none.
	StageRate  float64 `yaml:"stage-rate" json:"stageRate"`
	StageBurst int     `yaml:"stage-burst" json:"stageBurst,omitempty"`
	// TableRCU and TableWCU are a provisioned table's read and write
	// capacity units at the article's rates (its 20 and 10), which the
	// lab scales as it scales every rate; they need the serve: section's
	// table billing provisioned.
	TableRCU int `yaml:"table-rcu" json:"tableRCU,omitempty"`
	TableWCU int `yaml:"table-wcu" json:"tableWCU,omitempty"`
}

// Pending is a setting a profile needs that surge cannot run yet.
type Pending struct {
	Setting string `yaml:"setting" json:"setting"`
	What    string `yaml:"what" json:"what"`
	Needs   string `yaml:"needs" json:"needs"`
	Note    string `yaml:"note,omitempty" json:"note,omitempty"`
	// Findings are the ids of the findings that stay not measurable until
	// the setting lands.
	Findings []string `yaml:"findings,omitempty" json:"findings,omitempty"`
}

// profileFile is a profile's YAML form.
type profileFile struct {
	Name        string            `yaml:"name"`
	Description string            `yaml:"description"`
	Serve       yaml.Node         `yaml:"serve"`
	Limits      Limits            `yaml:"limits"`
	Pending     []Pending         `yaml:"pending"`
	Requires    []string          `yaml:"requires"`
	Functions   []ProfileFunction `yaml:"functions"`
}

// maxProfileSize bounds a profile file.
const maxProfileSize = 1 << 20

// ParseProfile reads a profile from its YAML form; file names it in
// errors and reports. Unknown keys are errors, so that a typo does not
// pass silently, and so is a serve: section that `surge serve` would not
// take.
func ParseProfile(file string, data []byte) (*Profile, error) {
	if len(data) > maxProfileSize {
		return nil, fmt.Errorf("profile %s: larger than 1 MiB", file)
	}
	var pf profileFile
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&pf); err != nil {
		return nil, fmt.Errorf("profile %s: %w", file, err)
	}
	p := &Profile{Name: pf.Name, Description: strings.TrimSpace(pf.Description), File: file,
		Limits: pf.Limits, Pending: pf.Pending, Requires: pf.Requires, Functions: pf.Functions}
	var errs []error
	if p.Name == "" {
		errs = append(errs, errors.New("name: required"))
	} else if strings.ContainsAny(p.Name, "/\\ \t\n") {
		errs = append(errs, fmt.Errorf("name %q: want a word (it names files and report sections)", p.Name))
	}
	switch pf.Serve.Kind {
	case 0:
	case yaml.MappingNode:
		b, err := yaml.Marshal(&pf.Serve)
		if err != nil {
			errs = append(errs, fmt.Errorf("serve: %w", err))
		}
		p.Serve = b
	default:
		errs = append(errs, errors.New("serve: want a mapping of surge serve settings"))
	}
	if l := p.Limits; l.StageRate < 0 || l.StageBurst < 0 || l.TableRCU < 0 || l.TableWCU < 0 {
		errs = append(errs, errors.New("limits: rates, bursts and capacity units must not be negative"))
	}
	if l := p.Limits; (l.TableRCU > 0) != (l.TableWCU > 0) {
		errs = append(errs, errors.New("limits: table-rcu and table-wcu go together"))
	}
	for i, pd := range p.Pending {
		if pd.Setting == "" || pd.What == "" {
			errs = append(errs, fmt.Errorf("pending[%d]: setting and what are required", i))
		}
	}
	if len(errs) == 0 {
		if _, err := p.ServerConfig(); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("profile %s: %w", file, errors.Join(errs...))
	}
	return p, nil
}

// ReadProfile reads a profile file; a bare name of one of the embedded
// profiles (baseline, optimized, or baseline.yaml) reads that one.
func ReadProfile(path string) (*Profile, error) {
	name := path
	if !strings.HasSuffix(name, ".yaml") {
		name += ".yaml"
	}
	if !strings.ContainsAny(path, `/\`) {
		if data, err := fs.ReadFile(profiles.Files, name); err == nil {
			if _, statErr := os.Stat(path); statErr != nil {
				return ParseProfile("examples/lab/"+name, data)
			}
		}
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	return ParseProfile(filepath.ToSlash(path), data)
}

// DefaultProfiles returns the embedded baseline and optimized profiles.
func DefaultProfiles() ([]*Profile, error) {
	var out []*Profile
	for _, name := range profiles.Default {
		p, err := ReadProfile(name)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, nil
}

// ServerConfig returns the server configuration the profile's serve:
// section gives over surge serve's defaults, read as `surge serve
// --config` reads its file (every key a flag). The limits are not applied:
// the lab scales them first.
func (p *Profile) ServerConfig() (server.Config, error) {
	cfg := server.DefaultConfig()
	fs := ff.NewFlagSet("serve")
	if err := cli.Bind(fs, &cfg); err != nil {
		return cfg, fmt.Errorf("serve: %w", err)
	}
	var missing []string
	for _, r := range p.Requires {
		if _, ok := fs.GetFlag(r); !ok {
			missing = append(missing, "--"+r)
		}
	}
	if len(missing) > 0 {
		return cfg, fmt.Errorf("requires surge serve %s, which this build of surge does not have", strings.Join(missing, ", "))
	}
	if len(p.Serve) > 0 {
		if err := cli.ApplyYAML(fs, bytes.NewReader(p.Serve)); err != nil {
			return cfg, fmt.Errorf("serve: %w", err)
		}
	}
	if l := p.Limits; l.TableRCU > 0 && cfg.Capacity.Billing != "provisioned" {
		return cfg, errors.New("limits: table-rcu and table-wcu need serve: table: billing: provisioned")
	}
	if len(p.Functions) > 0 {
		if err := p.splitFunctions(&cfg); err != nil {
			return cfg, fmt.Errorf("functions: %w", err)
		}
	}
	return cfg, nil
}

// splitFunctions sets cfg's functions to the profile's, each a pool of
// surge's own function serving its routes of the items API.
func (p *Profile) splitFunctions(cfg *server.Config) error {
	f := &cfg.Functions
	if !f.Enabled || f.Runtime != "" || cfg.Template.Path != "" {
		return errors.New("split surge's own function: they need serve: functions: true, and no runtime or template")
	}
	sched, err := lambda.ParseScheduledActions(f.Schedule, f.ScheduleTimezone)
	if err != nil {
		return err
	}
	all := itemsapi.Routes()
	owner := map[string]string{}
	others := "" // the function of "*"
	for _, pf := range p.Functions {
		if pf.Name == "" || len(pf.Routes) == 0 || pf.Provisioned < 0 || pf.MemoryMB < 0 {
			return fmt.Errorf("function %q: a name and routes are required, and no negative settings", pf.Name)
		}
		fn := server.Function{Name: pf.Name, MemoryMB: pf.MemoryMB, Timeout: f.Timeout, ReservedConcurrency: f.ReservedConcurrency,
			Provisioned: pf.Provisioned}
		if pf.Provisioned > 0 {
			fn.MaxProvisioned, fn.TargetUtilization, fn.Schedule = f.MaxProvisioned, f.TargetUtilization, sched
		}
		f.List = append(f.List, fn)
		for _, r := range pf.Routes {
			if r == "*" {
				if others != "" {
					return fmt.Errorf("route *: both %s and %s", others, pf.Name)
				}
				others = pf.Name
				continue
			}
			if !slices.ContainsFunc(all, func(rt rest.Route) bool { return rt.String() == r }) {
				return fmt.Errorf("function %s: route %q is not one of the items API's (such as \"GET /items/{id}\")", pf.Name, r)
			}
			if o := owner[r]; o != "" {
				return fmt.Errorf("route %s: both %s and %s", r, o, pf.Name)
			}
			owner[r] = pf.Name
		}
	}
	for _, rt := range all {
		fn := owner[rt.String()]
		if fn == "" {
			if others == "" {
				return fmt.Errorf("route %s has no function (give one the route \"*\")", rt)
			}
			fn = others
		}
		f.Routes = append(f.Routes, server.Route{Method: rt.Method, Path: rt.Pattern, Function: fn})
	}
	f.Provisioned, f.MaxProvisioned, f.TargetUtilization, f.Schedule = 0, 0, 0, ""
	return nil
}

// PendingFor returns the pending setting that keeps finding id from being
// measured, if any.
func (p *Profile) PendingFor(id string) *Pending {
	for i := range p.Pending {
		if slices.Contains(p.Pending[i].Findings, id) {
			return &p.Pending[i]
		}
	}
	return nil
}
