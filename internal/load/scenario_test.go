package load_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/surgehq/surge/internal/load"
)

func TestDecodeScenario(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		src := `
target: http://127.0.0.1:9000/prod
preset: seed
rate: 200
duration: 2m
mix: {read: 8, create: 2}
ids: {distribution: zipf, zipf_s: 1.3, preseed: 50}
payloads:
  - {size: 256B, weight: 6}
  - {size: 4KB, weight: 3}
  - {size: 64KiB, weight: 1}
api:
  items: /things
  id_path: data.id
headers: {x-api-key: secret}
thresholds: ["read.p99<50ms", "errors<1%"]
`
		s, err := load.DecodeScenario(strings.NewReader(src))
		if err != nil {
			t.Fatal(err)
		}
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("Validate() = %v", errs)
		}
		want := load.DefaultScenario()
		want.Target = "http://127.0.0.1:9000/prod"
		want.Preset = load.PresetSeed
		want.Rate = 200
		want.Duration = 2 * time.Minute
		want.Mix = map[string]float64{"read": 8, "create": 2}
		want.IDs = load.IDs{Distribution: load.DistZipf, ZipfS: 1.3, Preseed: 50, PoolSize: 100_000}
		want.Payloads = []load.PayloadClass{{Size: 256, Weight: 6}, {Size: 4096, Weight: 3}, {Size: 65536, Weight: 1}}
		want.API.Items = "/things"
		want.API.IDPath = "data.id"
		want.Headers = map[string]string{"x-api-key": "secret"}
		want.Thresholds = mustThresholds(t, "read.p99<50ms,errors<1%")
		if !reflect.DeepEqual(s, want) {
			t.Fatalf("got  %+v\nwant %+v", s, want)
		}
	})
	t.Run("Empty", func(t *testing.T) {
		s, err := load.DecodeScenario(strings.NewReader(""))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(s, load.DefaultScenario()) {
			t.Fatal("an empty file does not give the defaults")
		}
	})
	t.Run("Stages", func(t *testing.T) {
		s, err := load.DecodeScenario(strings.NewReader("stages:\n  - {duration: 30s, target: 100}\n  - {duration: 1m, target: 100}\n"))
		if err != nil {
			t.Fatal(err)
		}
		start, stages, err := s.Plan()
		if err != nil || start != 0 || !reflect.DeepEqual(stages, []load.Stage{{30 * time.Second, 100}, {time.Minute, 100}}) {
			t.Fatalf("Plan() = %v %v %v", start, stages, err)
		}
	})
	bad := []struct {
		name, src, want string
	}{
		{"UnknownKey", "rat: 100\n", "field rat not found"},
		{"BadDuration", "duration: soon\n", "line 1: cannot unmarshal !!str `soon` into time.Duration"},
		{"BadSize", "payloads: [{size: 4XB, weight: 1}]\n", "unknown unit"},
		{"NotYAML", "{{{\n", "decode scenario"},
	}
	for _, b := range bad {
		t.Run("Err"+b.name, func(t *testing.T) {
			_, err := load.DecodeScenario(strings.NewReader(b.src))
			if err == nil || !strings.Contains(err.Error(), b.want) {
				t.Fatalf("err = %v, want it to mention %q", err, b.want)
			}
		})
	}
}

func TestScenarioValidate(t *testing.T) {
	tests := []struct {
		name   string
		change func(*load.Scenario)
		want   []string // each must appear in some error
	}{
		{"BadTarget", func(s *load.Scenario) { s.Target = "ftp://x" }, []string{"target", "scheme"}},
		{"NoHost", func(s *load.Scenario) { s.Target = "http://" }, []string{"no host"}},
		{"Model", func(s *load.Scenario) { s.Model = "half-open" }, []string{"model"}},
		{"Rate", func(s *load.Scenario) { s.Rate = 0 }, []string{"rate: must be positive"}},
		{"Preset", func(s *load.Scenario) { s.Preset = "wave" }, []string{`preset "wave"`}},
		{"ClosedNoUsers", func(s *load.Scenario) { s.Model = load.ModelClosed; s.VUs = 0 }, []string{"vus"}},
		{"Stage", func(s *load.Scenario) { s.Stages = []load.Stage{{-time.Second, 1}} }, []string{"stages[0].duration"}},
		{"NoBound", func(s *load.Scenario) { s.Duration = 0 }, []string{"duration"}},
		{"InFlight", func(s *load.Scenario) { s.MaxInFlight = 0 }, []string{"max_inflight"}},
		{"Timeout", func(s *load.Scenario) { s.Timeout = 0 }, []string{"timeout"}},
		{"HTTP2Fast", func(s *load.Scenario) { s.HTTP2 = true }, []string{"http2"}},
		{"Header", func(s *load.Scenario) { s.Headers = map[string]string{"bad name": "x", "ok": "a\nb"} }, []string{"valid header name", "line break"}},
		{"Mix", func(s *load.Scenario) { s.Mix = map[string]float64{"read": -1, "upsert": 1} }, []string{"mix.read", `unknown operation "upsert"`}},
		{"MixZero", func(s *load.Scenario) { s.Mix = map[string]float64{"read": 0} }, []string{"add up to zero"}},
		{"Zipf", func(s *load.Scenario) { s.IDs.Distribution = load.DistZipf; s.IDs.ZipfS = 1 }, []string{"zipf_s"}},
		{"Dist", func(s *load.Scenario) { s.IDs.Distribution = "normal" }, []string{"ids.distribution"}},
		{"Payloads", func(s *load.Scenario) { s.Payloads = []load.PayloadClass{{Size: 1, Weight: -1}} }, []string{"payloads[0].size", "payloads[0].weight"}},
		{"NoPayloads", func(s *load.Scenario) { s.Payloads = nil }, []string{"at least one"}},
		{"Paths", func(s *load.Scenario) { s.API.Items = "items"; s.API.Ops = "/ops?x" }, []string{"api.items", "api.ops"}},
		{"IDFrom", func(s *load.Scenario) { s.API.IDFrom = "cookie" }, []string{"api.id_from"}},
		{"IDPath", func(s *load.Scenario) { s.API.IDPath = "a..b" }, []string{"empty segment"}},
		{"Body", func(s *load.Scenario) { s.API.Body = `{"a":{{nope}}}` }, []string{"api.body", "{{nope}}"}},
		{"BodyNotObject", func(s *load.Scenario) { s.API.Body = `[{{data}}]` }, []string{"JSON object"}},
		{"OpsMix", func(s *load.Scenario) { s.API.OpsMix = map[string]float64{"scan": 1} }, []string{"api.ops_mix"}},
		{"Threshold", func(s *load.Scenario) { s.Thresholds = load.Thresholds{{Source: "read.p99"}} }, []string{"thresholds[0]", "not a parsed threshold"}},
		{"ThresholdOp", func(s *load.Scenario) { s.Thresholds = mustThresholds(t, "fly.p99<5ms") }, []string{`unknown operation "fly"`}},
		{"ThresholdChecks", func(s *load.Scenario) { s.Thresholds = mustThresholds(t, "checks<1%") }, []string{"Postman collection"}},
		{"Iterations", func(s *load.Scenario) { s.Iterations = 3 }, []string{"iterations 3", "closed model"}},
		{"IterationsNegative", func(s *load.Scenario) { s.Model, s.Iterations = load.ModelClosed, -1 }, []string{"must not be negative"}},
		{"UpdateBody", func(s *load.Scenario) { s.API.UpdateBody = `{"a":{{x}}}` }, []string{"api.update_body"}},
		{"ConnectTo", func(s *load.Scenario) { s.ConnectTo = load.ConnectTo{"nohost": "127.0.0.1:1"} }, []string{"connect_to"}},
		{"PostmanSettingsAlone", func(s *load.Scenario) { s.Postman.Env = "env.json" }, []string{"need a collection"}},
		{"PostmanTarget", func(s *load.Scenario) { s.Postman.File = "c.json" }, []string{"own URLs", "--postman-var baseUrl"}},
		{"PostmanAndOpenAPI", func(s *load.Scenario) { s.Target, s.Postman.File, s.OpenAPI = "", "c.json", "o.json" }, []string{"not both"}},
		{"PostmanScope", func(s *load.Scenario) { s.Target, s.Postman.File, s.Postman.Scope = "", "c.json", "user" }, []string{"postman.scope"}},
		{"PostmanClosedMix", func(s *load.Scenario) {
			s.Target, s.Postman.File, s.Model, s.Postman.Mix = "", "c.json", load.ModelClosed, load.Weights{"x": 1}
		}, []string{"postman.mix", "in order"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := load.DefaultScenario()
			tt.change(&s)
			errs := s.Validate()
			if len(errs) == 0 {
				t.Fatal("Validate() found nothing")
			}
			all := errors.Join(errs...).Error()
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("errors %q do not mention %q", all, w)
				}
			}
		})
	}
	t.Run("OK", func(t *testing.T) {
		s := load.DefaultScenario()
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("the defaults do not validate: %v", errs)
		}
	})
	t.Run("Postman", func(t *testing.T) {
		s := load.DefaultScenario()
		s.Target, s.Postman.File = "", "c.json"
		s.Thresholds = mustThresholds(t, "Create an item.p99<50ms,checks<1%")
		if errs := s.Validate(); len(errs) > 0 {
			t.Fatalf("a collection's run does not validate: %v", errs)
		}
	})
}

func TestParseByteSize(t *testing.T) {
	good := map[string]load.ByteSize{"256": 256, "256B": 256, "4KB": 4096, "4 kib": 4096, "64k": 65536, "1MB": 1 << 20, "2MiB": 2 << 20}
	for in, want := range good {
		got, err := load.ParseByteSize(in)
		if err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v, want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "KB", "4XB", "-1", "99999999999999999999B", "9007199254740993MB"} {
		if _, err := load.ParseByteSize(in); err == nil {
			t.Errorf("ParseByteSize(%q) gave no error", in)
		}
	}
	for in, want := range map[load.ByteSize]string{256: "256B", 4096: "4KB", 1 << 20: "1MB", 1500: "1500B"} {
		if got := in.String(); got != want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", in, got, want)
		}
	}
}

func FuzzDecodeScenario(f *testing.F) {
	f.Add([]byte("rate: 100\nduration: 10s\n"))
	f.Add([]byte("stages: [{duration: 1s, target: 5}]\nmix: {read: 1}\n"))
	f.Add([]byte("payloads: [{size: 4KB, weight: 1}]\napi: {body: '{\"a\":{{data}}}'}\n"))
	f.Add([]byte("thresholds: [\"read.p99<5ms\"]\nheaders: {a: b}\n"))
	f.Add([]byte("target: ''\npostman: {file: c.json, mix: 'a, b=1,*=2', vars: {k: v}, folders: [x]}\nconnect_to: ['a:1=b:2']\n"))
	f.Add([]byte("openapi: o.yaml\niterations: 3\nmodel: closed\napi: {update_body: '{}'}\nconnect_to: {'a:1': 'b:2'}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := load.DecodeScenario(strings.NewReader(string(data)))
		if err != nil {
			return
		}
		if errs := s.Validate(); len(errs) > 0 {
			return
		}
		// A valid scenario plans without error and a bounded schedule.
		start, stages, err := s.Plan()
		if err != nil {
			t.Fatalf("valid scenario does not plan: %v", err)
		}
		if _, err := load.NewSchedule(start, stages); err != nil {
			t.Fatalf("valid scenario's plan does not schedule: %v", err)
		}
	})
}

// TestExampleScenarios keeps the example files valid.
func TestExampleScenarios(t *testing.T) {
	for _, name := range []string{"seed.yaml", "json-server.yaml"} {
		t.Run(name, func(t *testing.T) {
			f, err := os.Open(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			s, err := load.DecodeScenario(f)
			if err != nil {
				t.Fatal(err)
			}
			if errs := s.Validate(); len(errs) > 0 {
				t.Fatalf("Validate() = %v", errs)
			}
		})
	}
}
