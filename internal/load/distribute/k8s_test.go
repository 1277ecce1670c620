package distribute_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/util/validation"
	kyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/distribute"
)

// decodeManifest reads the manifest's documents as the Kubernetes API's
// own types, strictly: an unknown or repeated field, or a value of the
// wrong type, is an error. Each object is also encoded again and decoded
// once more, and must come back equal, and every field the manifest sets
// must survive in the typed object (none dropped, none renamed).
func decodeManifest(t *testing.T, manifest []byte) []runtime.Object {
	t.Helper()
	objs, err := decodeStrict(manifest)
	if err != nil {
		t.Fatal(err)
	}
	return objs
}

func decodeStrict(manifest []byte) ([]runtime.Object, error) {
	scheme := runtime.NewScheme()
	if err := corev1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	if err := batchv1.AddToScheme(scheme); err != nil {
		return nil, err
	}
	strict := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Yaml: true, Strict: true})
	plain := kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme, scheme, kjson.SerializerOptions{Strict: true})
	rd := kyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(manifest)))
	var objs []runtime.Object
	for {
		doc, err := rd.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(doc)) == 0 {
			continue
		}
		obj, gvk, err := strict.Decode(doc, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("decode as Kubernetes types: %w\n%s", err, doc)
		}
		var enc bytes.Buffer
		if err := plain.Encode(obj, &enc); err != nil {
			return nil, err
		}
		again, _, err := plain.Decode(enc.Bytes(), gvk, nil)
		if err != nil {
			return nil, fmt.Errorf("decode the encoded %s: %w", gvk.Kind, err)
		}
		if !apiequality.Semantic.DeepEqual(obj, again) {
			return nil, fmt.Errorf("%s does not round-trip:\n%#v\n%#v", gvk.Kind, obj, again)
		}
		ours, err := yaml.YAMLToJSON(doc)
		if err != nil {
			return nil, err
		}
		var a, b any
		_ = json.Unmarshal(ours, &a)
		_ = json.Unmarshal(enc.Bytes(), &b)
		if !contains(b, a) {
			return nil, fmt.Errorf("%s: a field of the manifest is lost in the typed object:\nmanifest %s\ntyped    %s", gvk.Kind, ours, enc.Bytes())
		}
		objs = append(objs, obj)
	}
	return objs, nil
}

// contains reports whether every leaf of sub is in super with its value.
func contains(super, sub any) bool {
	switch s := sub.(type) {
	case map[string]any:
		m, ok := super.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range s {
			if !contains(m[k], v) {
				return false
			}
		}
		return true
	case []any:
		l, ok := super.([]any)
		if !ok || len(l) != len(s) {
			return false
		}
		for i := range s {
			if !contains(l[i], s[i]) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(super, sub)
}

func TestManifestIsAnIndexedJob(t *testing.T) {
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration = "http://items.load.svc:8080", 3000, 10*time.Minute
	s.Headers = load.Headers{"x-api-key": "secret"}
	if err := s.Thresholds.Set("read.p99<50ms,errors<1%"); err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 1, 9, 58, 0, 0, time.UTC)
	sp := load.Split{Shards: 8, StartAt: now.Add(2 * time.Minute), Seed: 77}
	k, err := distribute.ParseK8s("k8s?image=registry.example/surge:1.4&namespace=load&claim=results&cpu=2&memory=1Gi&clock-url=http://clock.load:7070")
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := k.Manifest(&out, s, sp, now); err != nil {
		t.Fatal(err)
	}
	objs := decodeManifest(t, out.Bytes())
	if len(objs) != 2 {
		t.Fatalf("%d objects, want a Secret and a Job", len(objs))
	}
	secret, ok1 := objs[0].(*corev1.Secret)
	job, ok2 := objs[1].(*batchv1.Job)
	if !ok1 || !ok2 {
		t.Fatalf("got %T and %T", objs[0], objs[1])
	}
	id := sp.ID(&s)

	// Required fields and the values an Indexed Job needs.
	for _, name := range []string{job.Name, secret.Name} {
		if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 || len(name) > 63 {
			t.Errorf("name %q: %v", name, errs)
		}
	}
	for k, v := range job.Labels {
		if errs := append(validation.IsQualifiedName(k), validation.IsValidLabelValue(v)...); len(errs) > 0 {
			t.Errorf("label %s=%s: %v", k, v, errs)
		}
	}
	spec := job.Spec
	if spec.CompletionMode == nil || *spec.CompletionMode != batchv1.IndexedCompletion ||
		spec.Completions == nil || *spec.Completions != 8 || spec.Parallelism == nil || *spec.Parallelism != 8 {
		t.Errorf("spec %+v: want Indexed, 8 completions, 8 at once", spec)
	}
	if spec.BackoffLimitPerIndex == nil || *spec.BackoffLimitPerIndex != 0 || spec.MaxFailedIndexes == nil || *spec.MaxFailedIndexes != 8 {
		t.Errorf("a failed shard must fail alone and never run again: %+v", spec)
	}
	if spec.ActiveDeadlineSeconds == nil || *spec.ActiveDeadlineSeconds < int64((2*time.Minute+10*time.Minute).Seconds()) {
		t.Errorf("active deadline %v ends before the plan", spec.ActiveDeadlineSeconds)
	}
	pod := spec.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever || len(pod.Containers) != 1 {
		t.Fatalf("pod %+v", pod)
	}
	c := pod.Containers[0]
	if errs := validation.IsDNS1123Label(c.Name); len(errs) > 0 || c.Image != "registry.example/surge:1.4" {
		t.Errorf("container %q image %q: %v", c.Name, c.Image, errs)
	}
	if q := c.Resources.Requests[corev1.ResourceCPU]; q.String() != "2" {
		t.Errorf("cpu request %s", q.String())
	}
	if len(c.Env) != 1 || c.Env[0].Name != "JOB_COMPLETION_INDEX" || c.Env[0].ValueFrom == nil ||
		c.Env[0].ValueFrom.FieldRef.FieldPath != "metadata.annotations['"+batchv1.JobCompletionIndexAnnotation+"']" {
		t.Errorf("env %+v: want JOB_COMPLETION_INDEX from the completion index annotation", c.Env)
	}
	args := strings.Join(append(c.Command, c.Args...), " ")
	for _, want := range []string{"surge load ", "--shards 8 --shard $(JOB_COMPLETION_INDEX) ",
		"--start-at " + sp.StartAt.Format(time.RFC3339Nano), "--seed 77", "--scenario /etc/surge/scenario.yaml",
		"--out /results/" + distribute.ResultFile(id, "$(JOB_COMPLETION_INDEX)"), "--clock-url http://clock.load:7070"} {
		if !strings.Contains(args, want) {
			t.Errorf("command %q lacks %q", args, want)
		}
	}
	if job.Annotations["surge.dev/start-at"] != sp.StartAt.Format(time.RFC3339Nano) {
		t.Errorf("annotations %v: want the start time", job.Annotations)
	}
	// Every mount has its volume; the scenario's volume is the Secret.
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	for _, m := range c.VolumeMounts {
		if _, ok := vols[m.Name]; !ok {
			t.Errorf("mount %s has no volume", m.Name)
		}
	}
	if v := vols["scenario"]; v.Secret == nil || v.Secret.SecretName != secret.Name {
		t.Errorf("scenario volume %+v, want secret %s", v, secret.Name)
	}
	if v := vols["results"]; v.PersistentVolumeClaim == nil || v.PersistentVolumeClaim.ClaimName != "results" {
		t.Errorf("results volume %+v", v)
	}
	sel := pod.TopologySpreadConstraints[0].LabelSelector.MatchLabels
	for k, v := range sel {
		if spec.Template.Labels[k] != v {
			t.Errorf("the spread's selector %v does not select the pods (%v)", sel, spec.Template.Labels)
		}
	}

	// The pods read the scenario the coordinator split: the same plan.
	got, err := load.DecodeScenario(strings.NewReader(secret.StringData["scenario.yaml"]))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, s) {
		t.Errorf("the Secret's scenario reads back as\n%+v\nwant\n%+v", got, s)
	}
	if sp.ID(&got) != id || job.Labels["surge.dev/plan"] != id {
		t.Errorf("plan %s in the pods, %s labelled, want %s", sp.ID(&got), job.Labels["surge.dev/plan"], id)
	}
}

func TestManifestRefuses(t *testing.T) {
	s := load.DefaultScenario()
	sp := load.Split{Shards: 2, StartAt: time.Now(), Seed: 1}
	for _, tt := range []struct{ emit, want string }{
		{"k8s?image=", "image: none given"},
		{"k8s?claim=Results_1", "claim \"Results_1\""},
		{"k8s?name=" + strings.Repeat("a", 60), "at most 52"},
		{"k8s?colour=red", "unknown setting"},
		{"kube", "want k8s"},
	} {
		k, err := distribute.ParseK8s(tt.emit)
		if err == nil {
			err = k.Manifest(io.Discard, s, sp, time.Now())
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want %q", tt.emit, err, tt.want)
		}
	}
	k, _ := distribute.ParseK8s("k8s")
	seg := sp
	seg.Segment = time.Second
	if err := k.Manifest(io.Discard, s, seg, time.Now()); err == nil || !strings.Contains(err.Error(), "--segment") {
		t.Errorf("a segmented split: got %v", err)
	}
}

// TestStrictDecodeCatchesMistakes: the check above fails on a manifest
// with a misspelt field or a value of the wrong type.
func TestStrictDecodeCatchesMistakes(t *testing.T) {
	s := load.DefaultScenario()
	sp := load.Split{Shards: 2, StartAt: time.Now(), Seed: 1}
	k, _ := distribute.ParseK8s("k8s")
	var out bytes.Buffer
	if err := k.Manifest(&out, s, sp, time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][2]string{{"completionMode:", "completionMod:"}, {"parallelism: 2", "parallelism: two"}, {"restartPolicy:", "restartpolicy:"}} {
		doc := bytes.Replace(out.Bytes(), []byte(bad[0]), []byte(bad[1]), 1)
		if _, err := decodeStrict(doc); err == nil {
			t.Errorf("a manifest with %q passes", bad[1])
		}
	}
}
