package sam_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/local/sam"
)

// FuzzParse reads arbitrary templates: an error or an app, never a panic,
// and every function of an app has its code directory.
func FuzzParse(f *testing.F) {
	for _, p := range []string{"../../../examples/python-crud/template.yaml", "../../../deploy/aws/template.yaml",
		"testdata/serverless-patterns/apigw-http-api-lambda-python/template.yaml"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(intrinsics))
	f.Add([]byte("Conditions: {A: !Condition A}\nResources: {X: {Type: T, Condition: A}}"))
	f.Add([]byte(`{"Resources": {"F": {"Type": "AWS::Serverless::Function", "Properties": {"Runtime": "python3.12", "Handler": "a.b", "CodeUri": ".", "Environment": {"Variables": {"A": {"Fn::Sub": ["${x}", {"x": {"Ref": "AWS::NoValue"}}]}}}}}}}`))
	dir := f.TempDir()
	os.MkdirAll(filepath.Join(dir, "src"), 0o755)
	cache := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		app, err := sam.Parse(data, dir, sam.Options{CacheDir: cache})
		if err != nil {
			return
		}
		for _, fn := range app.Functions {
			if fn.CodeDir == "" || fn.Name == "" {
				t.Fatalf("function %+v without code or name", fn)
			}
		}
		for _, u := range app.Unsupported {
			if u.Path == "" || u.Why == "" {
				t.Fatalf("an empty listing %+v", u)
			}
		}
	})
}

// FuzzParseOverrides: any --parameter-overrides value parses or fails;
// what parses has no empty key and keys without spaces.
func FuzzParseOverrides(f *testing.F) {
	for _, s := range []string{`A=1 B="two words"`, "ParameterKey=C,ParameterValue=x=y", `'`, "=", "A=1\tB=2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := sam.ParseOverrides([]string{s})
		if err != nil {
			return
		}
		for k := range m {
			if k == "" || strings.ContainsAny(k, " \t") {
				t.Fatalf("key %q from %q", k, s)
			}
		}
	})
}

// FuzzParseEnvVars: any --env-vars document parses or fails, and what
// parses applies.
func FuzzParseEnvVars(f *testing.F) {
	for _, s := range []string{`{"Parameters": {"A": "1"}}`, `{"F": {"B": 2, "C": false}}`, `null`, `{"F": null}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := sam.ParseEnvVars(b)
		if err != nil {
			return
		}
		for _, kv := range e.Apply(&sam.Function{LogicalID: "F"}, []string{"X=1"}) {
			if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
				t.Fatalf("variable %q", kv)
			}
		}
	})
}
