package distribute

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/surgehq/surge/internal/load"
)

// K8s are the settings of the Kubernetes Indexed Job that --emit k8s
// writes: k8s?image=IMAGE&claim=PVC&namespace=NS&name=NAME&cpu=Q&memory=Q
// &clock-url=URL.
type K8s struct {
	// Name is the Job's name (default surge-load- and the plan's id).
	Name string
	// Namespace is the Job's namespace (default: kubectl's).
	Namespace string
	// Image is a container image whose PATH has the surge binary (default
	// DefaultImage).
	Image string
	// Claim is a PersistentVolumeClaim (ReadWriteMany) mounted at
	// /results, where every pod writes its part's result (default
	// DefaultClaim).
	Claim string
	// CPU and Memory are each pod's requests (default 1 and 512Mi).
	CPU, Memory string
	// ClockURL, when set, is a clock the pods measure their offset
	// against (`surge load clock` serves one).
	ClockURL string
}

// Defaults of the Job's settings.
const (
	DefaultImage = "surge:latest"
	DefaultClaim = "surge-results"
	// DefaultK8sLead is how far ahead of now the plan starts when no start
	// is given: time for the pods to be scheduled and pull the image.
	DefaultK8sLead = 2 * time.Minute
)

// ParseK8s reads --emit's value: k8s, optionally with settings as a query.
func ParseK8s(s string) (*K8s, error) {
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "" || u.Path != "k8s" {
		return nil, fmt.Errorf("--emit %q: want k8s or k8s?image=IMAGE&claim=PVC&namespace=NS", s)
	}
	k := &K8s{Image: DefaultImage, Claim: DefaultClaim, CPU: "1", Memory: "512Mi"}
	for key, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch key {
		case "name":
			k.Name = v
		case "namespace":
			k.Namespace = v
		case "image":
			k.Image = v
		case "claim":
			k.Claim = v
		case "cpu":
			k.CPU = v
		case "memory":
			k.Memory = v
		case "clock-url":
			k.ClockURL = v
		default:
			return nil, fmt.Errorf("--emit %q: unknown setting %q (want name, namespace, image, claim, cpu, memory, clock-url)", s, key)
		}
	}
	return k, nil
}

// isDNSLabel reports whether s is an RFC 1123 label, as Kubernetes names
// are: at most 63 lower-case letters, digits and '-', starting and ending
// with a letter or digit. (The length is checked apart: a counted
// repetition in the expression costs a cold start of every surge process
// to compile.)
func isDNSLabel(s string) bool { return len(s) <= 63 && dnsLabel.MatchString(s) }

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)

// The manifest's objects, with the field names of the Kubernetes API
// (k8s.io/api core/v1 and batch/v1; the tests decode them with those
// types, strictly).
type (
	k8sMeta struct {
		Name        string            `yaml:"name"`
		Namespace   string            `yaml:"namespace,omitempty"`
		Labels      map[string]string `yaml:"labels,omitempty"`
		Annotations map[string]string `yaml:"annotations,omitempty"`
	}
	k8sSecret struct {
		APIVersion string            `yaml:"apiVersion"`
		Kind       string            `yaml:"kind"`
		Metadata   k8sMeta           `yaml:"metadata"`
		Type       string            `yaml:"type"`
		StringData map[string]string `yaml:"stringData"`
	}
	k8sJob struct {
		APIVersion string     `yaml:"apiVersion"`
		Kind       string     `yaml:"kind"`
		Metadata   k8sMeta    `yaml:"metadata"`
		Spec       k8sJobSpec `yaml:"spec"`
	}
	k8sJobSpec struct {
		CompletionMode          string         `yaml:"completionMode"`
		Completions             int            `yaml:"completions"`
		Parallelism             int            `yaml:"parallelism"`
		BackoffLimitPerIndex    int            `yaml:"backoffLimitPerIndex"`
		MaxFailedIndexes        int            `yaml:"maxFailedIndexes"`
		ActiveDeadlineSeconds   int64          `yaml:"activeDeadlineSeconds"`
		TTLSecondsAfterFinished int            `yaml:"ttlSecondsAfterFinished"`
		Template                k8sPodTemplate `yaml:"template"`
	}
	k8sPodTemplate struct {
		Metadata k8sPodMeta `yaml:"metadata"`
		Spec     k8sPodSpec `yaml:"spec"`
	}
	k8sPodMeta struct {
		Labels map[string]string `yaml:"labels"`
	}
	k8sPodSpec struct {
		RestartPolicy             string         `yaml:"restartPolicy"`
		TopologySpreadConstraints []k8sSpread    `yaml:"topologySpreadConstraints"`
		Containers                []k8sContainer `yaml:"containers"`
		Volumes                   []k8sVolume    `yaml:"volumes"`
	}
	k8sSpread struct {
		MaxSkew           int         `yaml:"maxSkew"`
		TopologyKey       string      `yaml:"topologyKey"`
		WhenUnsatisfiable string      `yaml:"whenUnsatisfiable"`
		LabelSelector     k8sSelector `yaml:"labelSelector"`
	}
	k8sSelector struct {
		MatchLabels map[string]string `yaml:"matchLabels"`
	}
	k8sContainer struct {
		Name         string       `yaml:"name"`
		Image        string       `yaml:"image"`
		Command      []string     `yaml:"command"`
		Args         []string     `yaml:"args"`
		Env          []k8sEnv     `yaml:"env"`
		Resources    k8sResources `yaml:"resources"`
		VolumeMounts []k8sMount   `yaml:"volumeMounts"`
	}
	k8sEnv struct {
		Name      string        `yaml:"name"`
		ValueFrom *k8sEnvSource `yaml:"valueFrom,omitempty"`
	}
	k8sEnvSource struct {
		FieldRef k8sFieldRef `yaml:"fieldRef"`
	}
	k8sFieldRef struct {
		FieldPath string `yaml:"fieldPath"`
	}
	k8sResources struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits,omitempty"`
	}
	k8sMount struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly,omitempty"`
	}
	k8sVolume struct {
		Name                  string        `yaml:"name"`
		Secret                *k8sSecretVol `yaml:"secret,omitempty"`
		PersistentVolumeClaim *k8sClaimVol  `yaml:"persistentVolumeClaim,omitempty"`
	}
	k8sSecretVol struct {
		SecretName string `yaml:"secretName"`
	}
	k8sClaimVol struct {
		ClaimName string `yaml:"claimName"`
	}
)

// Where the pods find the scenario and write their results.
const (
	k8sScenarioDir = "/etc/surge"
	k8sResultsDir  = "/results"
	// completionIndex is the pod annotation an Indexed Job's controller
	// sets to the pod's index, the source of JOB_COMPLETION_INDEX.
	completionIndex = "batch.kubernetes.io/job-completion-index"
)

// ResultFile is the file, under the results volume, where shard k of plan
// id writes its result.
func ResultFile(id string, k string) string {
	return "surge-load-" + id + "-shard-" + k + ".json"
}

// Manifest writes the Kubernetes objects that run the split plan: a
// Secret holding the scenario (its headers may hold credentials) and an
// Indexed Job of sp.Shards pods, all at once, pod k running shard k
// (JOB_COMPLETION_INDEX) of the whole plan with `surge load --shard`,
// from the agreed start written in its arguments, and writing its result
// to the results volume, where `surge load merge` reads them all. A pod
// that fails is not retried (its part's load would be sent twice, late):
// its index fails alone and the others run on. Now is the time the
// manifest is written, from which the Job's deadline counts.
func (k *K8s) Manifest(w io.Writer, s load.Scenario, sp load.Split, now time.Time) error {
	parts, err := sp.Parts(&s)
	if err != nil {
		return err
	}
	if len(parts) != sp.Shards {
		return fmt.Errorf("a Kubernetes Job runs the whole plan in each pod: --segment does not apply")
	}
	id := parts[0].PlanID
	name := k.Name
	if name == "" {
		name = "surge-load-" + id[:12]
	}
	for what, v := range map[string]string{"name": name, "claim": k.Claim} {
		if len(v) > 52 || !isDNSLabel(v) {
			return fmt.Errorf("%s %q: want a DNS label (lower-case letters, digits and '-') of at most 52 characters", what, v)
		}
	}
	if k.Namespace != "" && !isDNSLabel(k.Namespace) {
		return fmt.Errorf("namespace %q: want a DNS label", k.Namespace)
	}
	if k.Image == "" {
		return fmt.Errorf("image: none given")
	}
	scenario, err := yaml.Marshal(s)
	if err != nil {
		return fmt.Errorf("encode scenario: %w", err)
	}
	labels := map[string]string{"app.kubernetes.io/name": "surge-load", "surge.dev/plan": id}
	start := sp.StartAt.UTC().Format(time.RFC3339Nano)
	secret := k8sSecret{APIVersion: "v1", Kind: "Secret", Type: "Opaque",
		Metadata:   k8sMeta{Name: name + "-scenario", Namespace: k.Namespace, Labels: labels},
		StringData: map[string]string{"scenario.yaml": string(scenario)}}
	args := []string{"load", "--progress", "plain", "--scenario", k8sScenarioDir + "/scenario.yaml",
		"--shards", strconv.Itoa(sp.Shards), "--shard", "$(JOB_COMPLETION_INDEX)",
		"--start-at", start, "--seed", strconv.FormatUint(sp.Seed, 10),
		"--out", k8sResultsDir + "/" + ResultFile(id, "$(JOB_COMPLETION_INDEX)")}
	if k.ClockURL != "" {
		args = append(args, "--clock-url", k.ClockURL)
	}
	// The Job ends, whatever its pods do, once the plan, its grace and a
	// last request are well past.
	plan := parts[0].To
	deadline := sp.StartAt.Sub(now) + plan + s.Grace + s.Timeout + 10*time.Minute
	job := k8sJob{APIVersion: "batch/v1", Kind: "Job",
		Metadata: k8sMeta{Name: name, Namespace: k.Namespace, Labels: labels,
			Annotations: map[string]string{"surge.dev/start-at": start, "surge.dev/plan": id}},
		Spec: k8sJobSpec{
			CompletionMode:          "Indexed",
			Completions:             sp.Shards,
			Parallelism:             sp.Shards,
			BackoffLimitPerIndex:    0,
			MaxFailedIndexes:        sp.Shards,
			ActiveDeadlineSeconds:   int64(math.Ceil(deadline.Seconds())),
			TTLSecondsAfterFinished: 86400,
			Template: k8sPodTemplate{
				Metadata: k8sPodMeta{Labels: labels},
				Spec: k8sPodSpec{
					RestartPolicy: "Never",
					// Shards on different nodes: more CPU, more source IPs.
					TopologySpreadConstraints: []k8sSpread{{MaxSkew: 1, TopologyKey: "kubernetes.io/hostname",
						WhenUnsatisfiable: "ScheduleAnyway", LabelSelector: k8sSelector{MatchLabels: map[string]string{"surge.dev/plan": id}}}},
					Containers: []k8sContainer{{
						Name: "shard", Image: k.Image, Command: []string{"surge"}, Args: args,
						Env: []k8sEnv{{Name: "JOB_COMPLETION_INDEX",
							ValueFrom: &k8sEnvSource{FieldRef: k8sFieldRef{FieldPath: "metadata.annotations['" + completionIndex + "']"}}}},
						Resources: k8sResources{Requests: map[string]string{"cpu": k.CPU, "memory": k.Memory},
							Limits: map[string]string{"memory": k.Memory}},
						VolumeMounts: []k8sMount{{Name: "scenario", MountPath: k8sScenarioDir, ReadOnly: true},
							{Name: "results", MountPath: k8sResultsDir}},
					}},
					Volumes: []k8sVolume{
						{Name: "scenario", Secret: &k8sSecretVol{SecretName: name + "-scenario"}},
						{Name: "results", PersistentVolumeClaim: &k8sClaimVol{ClaimName: k.Claim}},
					},
				},
			},
		},
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	fmt.Fprintf(&buf, "# surge load: plan %s, %d shards from %s.\n# Results: %s/%s on claim %s; then surge load merge.\n",
		id, sp.Shards, start, k8sResultsDir, ResultFile(id, "*"), k.Claim)
	if err := enc.Encode(secret); err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := enc.Encode(job); err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	_, err = w.Write(buf.Bytes())
	return err
}
