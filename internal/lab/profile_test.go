package lab_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/lab"
	"github.com/surgehq/surge/internal/server"
)

func TestDefaultProfiles(t *testing.T) {
	ps, err := lab.DefaultProfiles()
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 2 || ps[0].Name != "baseline" || ps[1].Name != "optimized" {
		t.Fatalf("profiles %v, want baseline and optimized", ps)
	}
	b, err := ps[0].ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	f := b.Functions
	if !f.Enabled || f.MemoryMB != 128 || f.Provisioned != 0 || b.Cache.Enabled || b.ReadCache.Enabled || b.Throttle.StageRate != 0 {
		t.Errorf("baseline: functions %v at %d MB, provisioned %d, cache %v, read cache %v, stage %v: want the article's defaults",
			f.Enabled, f.MemoryMB, f.Provisioned, b.Cache.Enabled, b.ReadCache.Enabled, b.Throttle.StageRate)
	}
	o, err := ps[1].ServerConfig()
	if err != nil {
		t.Fatal(err)
	}
	f = o.Functions
	if f.MemoryMB != 512 || !o.Cache.Enabled || o.Cache.TTL != 5*time.Minute || !o.ReadCache.Enabled || !o.ETags || !strings.Contains(o.CacheControl, "max-age") {
		t.Errorf("optimized: %+v, cache %+v: want the article's optimizations", f, o.Cache)
	}
	// Provisioned concurrency 5 on the create and the read route's
	// functions, target tracking at 70% and a schedule; the rest on demand.
	byName := map[string]server.Function{}
	for _, fn := range f.List {
		byName[fn.Name] = fn
	}
	for _, name := range []string{"create", "read"} {
		if fn := byName[name]; fn.Provisioned != 5 || fn.TargetUtilization != 0.7 || len(fn.Schedule) == 0 {
			t.Errorf("optimized function %s: %+v: want provisioned concurrency 5, target tracking at 70%% and a schedule", name, fn)
		}
	}
	if fn, ok := byName["other"]; !ok || fn.Provisioned != 0 || len(f.List) != 3 {
		t.Errorf("optimized functions %+v: want create, read and the others on demand", f.List)
	}
	routeFn := map[string]string{}
	for _, rt := range f.Routes {
		routeFn[rt.Method+" "+rt.Path] = rt.Function
	}
	for route, want := range map[string]string{"POST /items": "create", "GET /items/{id}": "read", "PUT /items/{id}": "other",
		"DELETE /items/{id}": "other", "GET /items": "other", "POST /ops": "other"} {
		if routeFn[route] != want {
			t.Errorf("optimized route %s: function %q, want %q", route, routeFn[route], want)
		}
	}
	if c := o.Capacity; c.Billing != "provisioned" || c.TargetUtilization != 0.7 || c.Schedule == "" {
		t.Errorf("optimized table %+v: want provisioned, auto scaling at 70%% and a schedule", c)
	}
	if l := ps[1].Limits; l.StageRate != 1000 || l.TableRCU != 20 || l.TableWCU != 10 || len(ps[1].Pending) != 0 {
		t.Errorf("optimized limits %+v, pending %+v: want the article's stage limit and 20 RCU / 10 WCU, nothing pending", ps[1].Limits, ps[1].Pending)
	}
}

func TestParseProfileErrors(t *testing.T) {
	for name, tt := range map[string]struct{ yaml, want string }{
		"NoName":       {"serve: {functions: true}\n", "name: required"},
		"UnknownKey":   {"name: x\nlimit: {}\n", "field limit not found"},
		"UnknownServe": {"name: x\nserve: {fuctions: true}\n", `unknown setting "fuctions"`},
		"BadValue":     {"name: x\nserve: {function: {memory: lots}}\n", "function-memory"},
		"ServeList":    {"name: x\nserve: [a]\n", "want a mapping"},
		"Negative":     {"name: x\nlimits: {stage-rate: -1}\n", "must not be negative"},
		"Requires":     {"name: x\nrequires: [no-such-flag]\n", "requires surge serve --no-such-flag"},
		"TableUnits":   {"name: x\nlimits: {table-rcu: 20, table-wcu: 10}\n", "need serve: table: billing: provisioned"},
		"TableHalf":    {"name: x\nlimits: {table-rcu: 20}\n", "go together"},
		"FnRoute":      {"name: x\nserve: {functions: true}\nfunctions: [{name: a, routes: [\"GET /nope\"]}, {name: b, routes: [\"*\"]}]\n", "not one of the items API's"},
		"FnTwoRest":    {"name: x\nserve: {functions: true}\nfunctions: [{name: a, routes: [\"*\"]}, {name: b, routes: [\"*\"]}]\n", "both a and b"},
		"FnUncovered":  {"name: x\nserve: {functions: true}\nfunctions: [{name: a, routes: [\"POST /items\"]}]\n", "has no function"},
		"FnNoPool":     {"name: x\nfunctions: [{name: a, routes: [\"*\"]}]\n", "need serve: functions: true"},
		"Pending":      {"name: x\npending: [{needs: y}]\n", "setting and what are required"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := lab.ParseProfile("p.yaml", []byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseProfile: %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestReadProfileFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.yaml")
	if err := os.WriteFile(path, []byte("name: mine\nserve:\n  functions: true\n  function: {memory: 1024}\nlimits: {stage-rate: 500}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := lab.ReadProfile(path)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := p.ServerConfig()
	if err != nil || cfg.Functions.MemoryMB != 1024 || p.Limits.StageRate != 500 {
		t.Fatalf("profile %+v, config %v: want 1024 MB and a stage rate of 500", p, err)
	}
	if _, err := lab.ReadProfile("optimized"); err != nil {
		t.Fatalf("the embedded optimized profile by name: %v", err)
	}
}

func FuzzParseProfile(f *testing.F) {
	for _, name := range []string{"baseline.yaml", "optimized.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "lab", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("name: x\nserve: {cache: {ttl: 1s}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := lab.ParseProfile("fuzz.yaml", data)
		if err != nil {
			return
		}
		if p.Name == "" {
			t.Fatal("a profile without a name was accepted")
		}
		if _, err := p.ServerConfig(); err != nil {
			t.Fatalf("an accepted profile's serve section does not apply: %v", err)
		}
	})
}
