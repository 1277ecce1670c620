package cli_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/cli"
)

type level int

func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 1
	case "high":
		*l = 2
	default:
		return errors.New("want low or high")
	}
	return nil
}

type inner struct {
	TTL   time.Duration `flag:"cache-ttl" help:"cache TTL"`
	Keys  []string      `flag:"cache-key" sep:"," help:"key parts"`
	Level level         `flag:"level" help:"a level"`
}

type config struct {
	Addr    string   `flag:"addr" short:"a" help:"address"`
	Sync    string   `flag:"sync" enum:"normal,full" help:"durability"`
	On      bool     `flag:"on" help:"turn it on"`
	N       int      `flag:"n" help:"a count"`
	Big     int64    `flag:"big" help:"a big count"`
	Rate    float64  `flag:"rate" help:"a rate"`
	Env     []string `flag:"env" help:"repeatable"`
	Cache   inner
	NotFlag string
}

func defaults() config {
	return config{Addr: "127.0.0.1:8080", Sync: "normal", N: 3, Cache: inner{TTL: time.Minute, Keys: []string{"a", "b"}}}
}

func parse(t *testing.T, args []string, env map[string]string) (config, error) {
	t.Helper()
	c := defaults()
	fs := ff.NewFlagSet("test")
	if err := cli.Bind(fs, &c); err != nil {
		t.Fatal(err)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	err := ff.Parse(fs, args, ff.WithEnvVarPrefix("TEST"))
	return c, err
}

func TestBind(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		env  map[string]string
		want func(*config)
		err  string
	}{
		{name: "defaults stay", want: func(*config) {}},
		{name: "every kind", args: []string{"-a", ":0", "--sync", "full", "--on", "--n", "7", "--big", "9000000000",
			"--rate", "1.5", "--env", "A=1", "--env", "B=2", "--cache-ttl", "5s", "--cache-key", " x , y ,", "--level", "high"},
			want: func(c *config) {
				c.Addr, c.Sync, c.On, c.N, c.Big, c.Rate = ":0", "full", true, 7, 9000000000, 1.5
				c.Env, c.Cache.TTL, c.Cache.Keys, c.Cache.Level = []string{"A=1", "B=2"}, 5*time.Second, []string{"x", "y"}, 2
			}},
		{name: "the last list wins", args: []string{"--cache-key", "x", "--cache-key", "y,z"},
			want: func(c *config) { c.Cache.Keys = []string{"y", "z"} }},
		{name: "environment", env: map[string]string{"TEST_CACHE_TTL": "2s", "TEST_SYNC": "full"},
			want: func(c *config) { c.Cache.TTL, c.Sync = 2*time.Second, "full" }},
		{name: "flag over environment", args: []string{"--sync", "normal"}, env: map[string]string{"TEST_SYNC": "full"},
			want: func(*config) {}},
		{name: "enum refuses", args: []string{"--sync", "sometimes"}, err: "sync"},
		{name: "text refuses", args: []string{"--level", "medium"}, err: "want low or high"},
		{name: "number refuses", args: []string{"--n", "x"}, err: "n"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.args, tt.env)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got error %v, want one naming %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := defaults()
			tt.want(&want)
			if g, w := strings.ReplaceAll(stringOf(got), " ", ""), strings.ReplaceAll(stringOf(want), " ", ""); g != w {
				t.Errorf("got %s, want %s", g, w)
			}
		})
	}
}

func stringOf(c config) string {
	var b strings.Builder
	for _, f := range cli.Fields(&c) {
		v, _ := f.Value(f.Addr(&c))
		b.WriteString(f.Name + "=" + v.String() + ";")
	}
	return b.String()
}

func TestFieldsAndBadTags(t *testing.T) {
	var c config
	var names []string
	for _, f := range cli.Fields(&c) {
		names = append(names, f.Name)
	}
	if got := strings.Join(names, ","); got != "addr,sync,on,n,big,rate,env,cache-ttl,cache-key,level" {
		t.Errorf("fields %s", got)
	}
	bad := struct {
		C chan int `flag:"c"`
	}{}
	if err := cli.Bind(ff.NewFlagSet("bad"), &bad); err == nil || !strings.Contains(err.Error(), "cannot be a flag") {
		t.Errorf("a channel field: got %v", err)
	}
	dup := struct {
		A string `flag:"x"`
		B string `flag:"x"`
	}{}
	if err := cli.Bind(ff.NewFlagSet("dup"), &dup); err == nil {
		t.Error("a flag named twice was bound")
	}
}

func TestApplyYAML(t *testing.T) {
	c := defaults()
	fs := ff.NewFlagSet("test")
	if err := cli.Bind(fs, &c); err != nil {
		t.Fatal(err)
	}
	var file string
	fs.StringVar(&file, 0, "config", "", "settings file")
	if err := fs.Parse([]string{"--n", "9"}); err != nil {
		t.Fatal(err)
	}
	yaml := "n: 1\nsync: full\ncache:\n  ttl: 30s\n  key: p,q\n"
	if err := cli.ApplyYAML(fs, strings.NewReader(yaml), "config"); err != nil {
		t.Fatal(err)
	}
	if c.N != 9 || c.Sync != "full" || c.Cache.TTL != 30*time.Second || strings.Join(c.Cache.Keys, ",") != "p,q" {
		t.Errorf("got %+v: the flag must win over the file, the file over the defaults", c)
	}
	for _, bad := range []string{"nope: 1\n", "config: other.yaml\n", "rate: fast\n"} {
		if err := cli.ApplyYAML(fs, strings.NewReader(bad), "config"); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestFlagsLastAndExit(t *testing.T) {
	var rate string
	fs := ff.NewFlagSet("load")
	fs.StringVar(&rate, 0, "rate", "1", "rate")
	sub := &ff.Command{Name: "load", Flags: fs, Exec: func(_ context.Context, args []string) error {
		return cli.ExitError{Code: 99, Err: errors.New("thresholds breached")}
	}}
	root := &ff.Command{Name: "surge", Subcommands: []*ff.Command{sub}}
	args := []string{"load", "http://x", "--rate", "5"}
	if err := root.Parse(args); err != nil {
		t.Fatal(err)
	}
	moved, ok := cli.FlagsLast(root, args)
	if !ok || strings.Join(moved, " ") != "load --rate 5 http://x" {
		t.Fatalf("FlagsLast: %q %v", moved, ok)
	}
	var w bytes.Buffer
	if code := cli.Exit(&w, root, root.Run(context.Background()), "SURGE"); code != 99 || w.String() != "surge: thresholds breached\n" {
		t.Errorf("exit %d, printed %q", code, w.String())
	}
	w.Reset()
	if code := cli.Exit(&w, root, errors.New("boom"), "SURGE"); code != 1 || !strings.Contains(w.String(), "boom") {
		t.Errorf("exit %d, printed %q", code, w.String())
	}
	w.Reset()
	if code := cli.Exit(&w, root, ff.ErrHelp, "SURGE"); code != 0 || !strings.Contains(w.String(), "SURGE_RATE") {
		t.Errorf("help: exit %d, printed %q", code, w.String())
	}
}
