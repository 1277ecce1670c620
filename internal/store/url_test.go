package store_test

import (
	"path/filepath"
	"testing"

	"github.com/surgehq/surge/internal/store"
)

func TestParse(t *testing.T) {
	for raw, want := range map[string]store.URL{
		"dynamodb://items":                  {Scheme: "dynamodb", Table: "items"},
		"dynamodb://items?region=eu-west-1": {Scheme: "dynamodb", Table: "items", Region: "eu-west-1"},
		"dynamodb://my.table_1-x?consistent=true&endpoint=http://127.0.0.1:8000": {Scheme: "dynamodb", Table: "my.table_1-x", Endpoint: "http://127.0.0.1:8000", Consistent: true},
		"dynamodb://items/":          {Scheme: "dynamodb", Table: "items"},
		"sqlite:surge-data/items.db": {Scheme: "sqlite", Path: "surge-data/items.db"},
		"sqlite:///var/items.db":     {Scheme: "sqlite", Path: "/var/items.db"},
		"mem:":                       {Scheme: "mem"},
		"mem://":                     {Scheme: "mem"},
		"dax://127.0.0.1:4000":       {Scheme: "dax", Addr: "127.0.0.1:4000"},
		// Capacity, on any kind of store.
		"sqlite:data/items.db?billing=provisioned&rcu=20&wcu=10": {Scheme: "sqlite", Path: "data/items.db", Billing: "provisioned", RCU: 20, WCU: 10},
		"sqlite:data/items.db?billing=on-demand":                 {Scheme: "sqlite", Path: "data/items.db", Billing: "on-demand"},
		"sqlite:odd?name.db":                                     {Scheme: "sqlite", Path: "odd?name.db"},
		"mem:?billing=provisioned&wcu=1&rcu=2":                   {Scheme: "mem", Billing: "provisioned", RCU: 2, WCU: 1},
		"dynamodb://items?billing=provisioned&rcu=20&wcu=10&endpoint=http://127.0.0.1:8000": {Scheme: "dynamodb", Table: "items",
			Endpoint: "http://127.0.0.1:8000", Billing: "provisioned", RCU: 20, WCU: 10},
	} {
		got, err := store.Parse(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if *got != want {
			t.Errorf("%s: got %+v, want %+v", raw, *got, want)
		}
	}
	for _, raw := range []string{
		"sqlite:", "sqlite://", "memory:", "dax://nohost", "postgres://x", "",
		"dynamodb://", "dynamodb://ab", "dynamodb://items?endpoint=127.0.0.1:8000",
		"dynamodb://items?colour=red", "dynamodb://items?region=a&region=b", "dynamodb://items?consistent=yes",
		"dynamodb://items:8000", "dynamodb://items/sub", "dynamodb://u:p@items", "dynamodb://it$ems",
		"sqlite:x.db?billing=provisioned", "sqlite:x.db?billing=provisioned&rcu=0&wcu=1", "sqlite:x.db?rcu=5&wcu=5",
		"sqlite:x.db?billing=cheap", "mem:?billing=on-demand&wcu=3", "mem:x", "dynamodb://items?billing=provisioned&rcu=1",
	} {
		if _, err := store.Parse(raw); err == nil {
			t.Errorf("%s: parsed without error", raw)
		}
	}
}

func TestAbsolute(t *testing.T) {
	wd, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for raw, want := range map[string]string{
		"sqlite:data/items.db":      "sqlite:" + filepath.Join(wd, "data/items.db"),
		"sqlite://data/items.db":    "sqlite:" + filepath.Join(wd, "data/items.db"),
		"sqlite:/var/items.db":      "sqlite:/var/items.db",
		"mem:":                      "mem:",
		"dynamodb://items?region=x": "dynamodb://items?region=x",
		"dax://127.0.0.1:1":         "dax://127.0.0.1:1",
	} {
		got, err := store.Absolute(raw)
		if err != nil || got != want {
			t.Errorf("Absolute(%q): got %q, %v, want %q", raw, got, err, want)
		}
	}
	if _, err := store.Absolute("nope:"); err == nil {
		t.Error("Absolute of an unknown kind: no error")
	}
}

// FuzzParse: Parse never panics, and what it accepts it reads again from
// the canonical form (String), to the same URL.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"dynamodb://items", "dynamodb://items?endpoint=http://127.0.0.1:8000&region=eu-west-1&consistent=true",
		"dynamodb://a.b-c_d?consistent=false", "dynamodb://x", "dynamodb://items?endpoint=ftp://x",
		"dynamodb://items?bogus=1", "sqlite://x", "dynamodb://user@items", "dynamodb://items/path",
		"dynamodb://items?region=", "dynamodb://items?consistent=maybe", "%zz", "sqlite:a b", "mem:", "dax://h:1",
		"sqlite:x.db?billing=provisioned&rcu=20&wcu=10", "mem:?billing=on-demand", "dynamodb://t?billing=provisioned&rcu=1&wcu=2",
		"sqlite:a?b", "sqlite:?billing=on-demand", "mem:?rcu=1",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := store.Parse(raw)
		if err != nil {
			return
		}
		again, err := store.Parse(u.String())
		if err != nil {
			t.Fatalf("Parse(%q) of the canonical form of %q: %v", u.String(), raw, err)
		}
		if *again != *u {
			t.Fatalf("canonical form %q parses to %+v, want %+v", u.String(), again, u)
		}
	})
}
