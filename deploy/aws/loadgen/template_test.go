// Package loadgen_test checks deploy/aws/loadgen/template.yaml, the SAM
// template of surge load's generator function, with goformation (the
// CloudFormation and SAM types), against what the code it deploys does.
package loadgen_test

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/awslabs/goformation/v7"
	"github.com/awslabs/goformation/v7/cloudformation"
	"github.com/awslabs/goformation/v7/intrinsics"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/distribute"
	"github.com/surgehq/surge/internal/load/shard"
)

// tpl is the template typed by goformation, with intrinsic functions
// resolved against the parameters' defaults, and raw, with every
// intrinsic function left as written.
type tpl struct {
	typed *cloudformation.Template
	raw   map[string]any
}

func loadTemplate(t *testing.T) *tpl {
	t.Helper()
	data, err := os.ReadFile("template.yaml")
	if err != nil {
		t.Fatal(err)
	}
	rawJSON, err := intrinsics.ProcessYAML(data, &intrinsics.ProcessorOptions{NoProcess: true})
	if err != nil {
		t.Fatalf("parse template: %v", err)
	}
	out := &tpl{}
	if err := json.Unmarshal(rawJSON, &out.raw); err != nil {
		t.Fatal(err)
	}
	if out.typed, err = goformation.ParseYAML(data); err != nil {
		t.Fatalf("goformation: %v", err)
	}
	return out
}

func (p *tpl) props(t *testing.T, name string) map[string]any {
	t.Helper()
	r, ok := p.raw["Resources"].(map[string]any)[name].(map[string]any)
	if !ok {
		t.Fatalf("no resource %s", name)
	}
	return r["Properties"].(map[string]any)
}

func jsonEq(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func deref[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// statements returns the statements of a policy document or a SAM
// function's Policies.
func statements(policies any) []map[string]any {
	var out []map[string]any
	docs, ok := policies.([]any)
	if !ok {
		docs = []any{policies}
	}
	for _, d := range docs {
		for _, s := range d.(map[string]any)["Statement"].([]any) {
			out = append(out, s.(map[string]any))
		}
	}
	return out
}

func TestFunction(t *testing.T) {
	p := loadTemplate(t)
	fn, err := p.typed.GetServerlessFunctionWithName("LoadgenFunction")
	if err != nil {
		t.Fatal(err)
	}
	if deref(fn.Runtime) != "provided.al2023" || deref(fn.Handler) != "bootstrap" || !reflect.DeepEqual(fn.Architectures, []string{"arm64"}) {
		t.Errorf("runtime %q handler %q architectures %v, want provided.al2023, bootstrap, arm64", deref(fn.Runtime), deref(fn.Handler), fn.Architectures)
	}
	// The timeout is Lambda's 15 minutes, which surge load sizes segments by.
	if got := time.Duration(deref(fn.Timeout)) * time.Second; got != distribute.MaxFunctionTime {
		t.Errorf("Timeout %s, want %s", got, distribute.MaxFunctionTime)
	}
	if got := deref(fn.MemorySize); got != 1769 {
		t.Errorf("MemorySize %d, want 1769 (one vCPU)", got)
	}
	if fn.CodeUri == nil || deref(fn.CodeUri.String) != "../../../dist/loadgen.zip" {
		t.Errorf("CodeUri %+v, want ../../../dist/loadgen.zip (what build.sh writes)", fn.CodeUri)
	}
	build, err := os.ReadFile("../build.sh")
	if err != nil || !strings.Contains(string(build), `-o "$dist/loadgen.zip"`) || !strings.Contains(string(build), "./cmd/loadgen") {
		t.Errorf("build.sh does not build cmd/loadgen into loadgen.zip (%v)", err)
	}
	// No reserved concurrency unless asked: a reservation of 0 would
	// throttle every invocation.
	rc := p.props(t, "LoadgenFunction")["ReservedConcurrentExecutions"]
	if !jsonEq(rc, map[string]any{"Fn::If": []any{"HasReservedConcurrency", map[string]any{"Ref": "ReservedConcurrency"}, map[string]any{"Ref": "AWS::NoValue"}}}) {
		t.Errorf("ReservedConcurrentExecutions %v", rc)
	}

	// The environment: the results bucket by reference, and only variables
	// that cmd/loadgen documents (and so reads).
	env := p.props(t, "LoadgenFunction")["Environment"].(map[string]any)["Variables"].(map[string]any)
	if !jsonEq(env["SURGE_RESULTS_BUCKET"], map[string]any{"Ref": "ResultsBucket"}) {
		t.Errorf("SURGE_RESULTS_BUCKET = %v, want a Ref to ResultsBucket", env["SURGE_RESULTS_BUCKET"])
	}
	doc, err := os.ReadFile("../../../cmd/loadgen/main.go")
	if err != nil {
		t.Fatal(err)
	}
	for name := range env {
		if !strings.Contains(string(doc), "//\t"+name+" ") {
			t.Errorf("the template sets %s, which cmd/loadgen does not document", name)
		}
	}

	// The function may write results where the generator writes them, and
	// read them (its presigned URLs act with its permissions), and nothing
	// else.
	st := statements(p.props(t, "LoadgenFunction")["Policies"])
	if len(st) != 1 || !jsonEq(st[0]["Action"], []any{"s3:PutObject", "s3:GetObject"}) ||
		!jsonEq(st[0]["Resource"], map[string]any{"Fn::Sub": "${ResultsBucket.Arn}/" + resultsPrefix(t) + "*"}) {
		t.Errorf("function policy %v", st)
	}
}

// resultsPrefix is where shard.Key puts results, checked against the
// template's prefixes.
func resultsPrefix(t *testing.T) string {
	s := load.DefaultScenario()
	parts, err := load.Split{Shards: 1, StartAt: time.Now(), Seed: 1}.Parts(&s)
	if err != nil {
		t.Fatal(err)
	}
	key := shard.Key(parts[0])
	if !strings.HasPrefix(key, "surge-load/") {
		t.Fatalf("results go to %s, outside the template's surge-load/ prefix", key)
	}
	return "surge-load/"
}

func TestResultsBucket(t *testing.T) {
	p := loadTemplate(t)
	prefix := resultsPrefix(t)
	b, err := p.typed.GetS3BucketWithName("ResultsBucket")
	if err != nil {
		t.Fatal(err)
	}
	pab := b.PublicAccessBlockConfiguration
	if pab == nil || !deref(pab.BlockPublicAcls) || !deref(pab.BlockPublicPolicy) || !deref(pab.IgnorePublicAcls) || !deref(pab.RestrictPublicBuckets) {
		t.Errorf("public access block %+v: results name the system under test and its figures", pab)
	}
	if b.BucketEncryption == nil || len(b.BucketEncryption.ServerSideEncryptionConfiguration) != 1 {
		t.Errorf("encryption %+v", b.BucketEncryption)
	}
	rules := p.props(t, "ResultsBucket")["LifecycleConfiguration"].(map[string]any)["Rules"].([]any)
	r := rules[0].(map[string]any)
	if r["Prefix"] != prefix || r["Status"] != "Enabled" || !jsonEq(r["ExpirationInDays"], map[string]any{"Ref": "ResultsRetentionDays"}) {
		t.Errorf("lifecycle rule %v: want results under %s expired", r, prefix)
	}
}

func TestCoordinatorPolicyAndOutputs(t *testing.T) {
	p := loadTemplate(t)
	// The coordinator invokes the generator, and needs nothing else: it
	// reads stored results by their presigned URLs.
	st := statements(p.props(t, "CoordinatorPolicy")["PolicyDocument"])
	if len(st) != 1 || !jsonEq(st[0]["Action"], []any{"lambda:InvokeFunction"}) ||
		!jsonEq(st[0]["Resource"], []any{map[string]any{"Fn::GetAtt": "LoadgenFunction.Arn"}, map[string]any{"Fn::Sub": "${LoadgenFunction.Arn}:*"}}) {
		t.Errorf("coordinator policy %v", st)
	}
	// The --on value the stack prints is one surge load reads.
	on := p.raw["Outputs"].(map[string]any)["OnFlag"].(map[string]any)["Value"].(map[string]any)["Fn::Sub"].(string)
	on = strings.NewReplacer("${LoadgenFunction}", "surge-loadgen-LoadgenFunction-AbC123", "${AWS::Region}", "eu-west-1").Replace(on)
	u, err := distribute.ParseLambdaURL(on)
	if err != nil || u.Function != "surge-loadgen-LoadgenFunction-AbC123" || u.Region != "eu-west-1" {
		t.Errorf("OnFlag %s reads as %+v, %v", on, u, err)
	}
}
