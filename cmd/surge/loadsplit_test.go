package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/testkit/syncbuf"
)

// TestLoadOnLocalLambdaStoredResults has the generators store their
// results in the results bucket, as those over Lambda's 6 MB response
// are (the limit lowered to 1,000 bytes here), on an S3-API server in
// this process (gofakes3), with the AWS SDK's S3 client: the coordinator
// fetches them by the presigned URLs the generators answer with, and
// merges them.
func TestLoadOnLocalLambdaStoredResults(t *testing.T) {
	backend := s3mem.New()
	s3srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(s3srv.Close)
	if err := backend.CreateBucket("results"); err != nil {
		t.Fatal(err)
	}
	_, endpoint, _ := localLambda(t, "SURGE_RESULTS_BUCKET=results", "SURGE_S3_ENDPOINT="+s3srv.URL, "SURGE_RESULTS_INLINE_MAX=1000",
		"AWS_ACCESS_KEY_ID=local", "AWS_SECRET_ACCESS_KEY=local")
	target := newSplitTarget(t, 1)
	out := filepath.Join(t.TempDir(), "merged.json")
	code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--shards", "2", "--start-at", "+1s", "--on", "lambda://loadgen?endpoint="+endpoint,
		"--rate", "100", "--duration", "1s", "--preseed", "0", "--grace", "30s", "--payloads", "256B=1", "--out", out, target.URL)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := readResultFile(t, out)
	if m.Sent != 100 || len(m.Merged.Parts) != 2 || target.requests.Load() != 100 {
		t.Errorf("merged sent %d from %d parts; the target got %d", m.Sent, len(m.Merged.Parts), target.requests.Load())
	}
	objs, err := backend.ListBucket("results", nil, gofakes3.ListBucketPage{})
	if err != nil || len(objs.Contents) != 2 {
		t.Errorf("the bucket holds %v (%v), want the 2 parts' results", objs, err)
	}
}

// splitTarget is a target on loopback that counts the requests it gets,
// gives every item it creates an id, and counts a request on an item from
// another shard than the one that created it (shards are told apart by
// their User-Agent).
type splitTarget struct {
	*httptest.Server
	requests  atomic.Int64
	crossings atomic.Int64
	mu        sync.Mutex
	owner     map[string]string
	seq       int
	reached   chan struct{}
	at        int64
	once      sync.Once
}

// newSplitTarget returns a target whose reached channel closes once it has
// had at requests.
func newSplitTarget(t *testing.T, at int64) *splitTarget {
	s := &splitTarget{owner: map[string]string{}, reached: make(chan struct{}), at: at}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.requests.Add(1) >= s.at {
			s.once.Do(func() { close(s.reached) })
		}
		_, _ = io.Copy(io.Discard, r.Body)
		ua := r.Header.Get("User-Agent")
		s.mu.Lock()
		defer s.mu.Unlock()
		if r.Method == http.MethodPost && r.URL.Path == "/items" {
			s.seq++
			id := "it" + strconv.Itoa(s.seq)
			s.owner[id] = ua
			w.WriteHeader(http.StatusCreated)
			io.WriteString(w, `{"id":"`+id+`"}`)
			return
		}
		if id, ok := strings.CutPrefix(r.URL.Path, "/items/"); ok && s.owner[id] != ua {
			s.crossings.Add(1)
		}
		io.WriteString(w, `{"items":[]}`)
	}))
	t.Cleanup(s.Close)
	return s
}

// startClock runs `surge load clock` on loopback until the test ends, and
// returns its URL.
func startClock(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var errb syncbuf.Buffer
	code := make(chan int, 1)
	go func() { code <- run(ctx, []string{"load", "clock", "127.0.0.1:0"}, io.Discard, &errb) }()
	t.Cleanup(func() {
		cancel()
		if c := <-code; c != 0 {
			t.Errorf("surge load clock exited %d: %s", c, errb.String())
		}
	})
	for range 3000 {
		if _, after, ok := strings.Cut(errb.String(), "clock at "); ok {
			u := strings.TrimSpace(after)
			resp, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			var rep struct{ Received, Replied time.Time }
			err = json.NewDecoder(resp.Body).Decode(&rep)
			resp.Body.Close()
			if err != nil || rep.Received.IsZero() || time.Since(rep.Replied).Abs() > time.Minute {
				t.Fatalf("the clock answers %+v, %v", rep, err)
			}
			return u
		}
		select {
		case c := <-code:
			t.Fatalf("surge load clock exited %d: %s", c, errb.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("surge load clock did not serve within 30s: %s", errb.String())
	return ""
}

// localLambda builds cmd/loadgen for this machine and runs it as surge's
// own local Lambda, whose Invoke API it serves on loopback: what `surge
// load --on lambda://loadgen?endpoint=...` invokes with the AWS SDK's
// Lambda client, one real instance process per part.
func localLambda(t *testing.T, env ...string) (pool *lambda.Pool, endpoint, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds cmd/loadgen and runs it as local Lambda instances")
	}
	bin = filepath.Join(t.TempDir(), "loadgen")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bin, "../loadgen")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build loadgen: %v\n%s", err, out)
	}
	// Without CPU limits: three generators share this machine's cores.
	pool, err := lambda.New(lambda.Config{Name: "loadgen", Command: []string{bin}, Timeout: 2 * time.Minute,
		Limits: lambda.LimitsOff, MemoryMB: 1769, Env: env})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pool.Close() })
	api := httptest.NewServer(lambda.NewInvokeAPI(pool))
	t.Cleanup(api.Close)
	// The SDK's default chain finds these, and looks for nothing on the
	// network.
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_REGION": "us-east-1",
		"AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"} {
		t.Setenv(k, v)
	}
	return pool, api.URL, bin
}

// TestLoadOnLocalLambda runs a plan split in 3 shards and 2 segments on
// real instances of the generator function, invoked through the Lambda
// Invoke API by the AWS SDK's client: the target gets exactly the
// planned requests, the merge's counts are the sum of its parts', its
// rate is within 1% of the plan's, and no shard touches another's items.
func TestLoadOnLocalLambda(t *testing.T) {
	pool, endpoint, _ := localLambda(t)
	target := newSplitTarget(t, 1)
	out := filepath.Join(t.TempDir(), "merged.json")
	// 8 s, so that the last response's few milliseconds after the plan's
	// end weigh less than 1% in the rate, even on a busy machine.
	code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--shards", "3", "--segment", "4s", "--start-at", "+1500ms",
		"--on", "lambda://loadgen?endpoint="+endpoint, "--rate", "250", "--duration", "8s", "--preseed", "0", "--grace", "30s",
		"--payloads", "256B=1", "--threshold", "errors<1%", "--out", out, target.URL)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	m := readResultFile(t, out)
	if m.Merged == nil || len(m.Merged.Parts) != 6 || len(m.Merged.Missing) != 0 || m.Stop != "completed" {
		t.Fatalf("merged: stop %q %+v", m.Stop, m.Merged)
	}
	var sent, done int64
	for _, p := range m.Merged.Parts {
		sent += p.Sent
		done += p.Done
		if p.Clock.Via != load.ClockViaInvoke || p.Clock.OffsetMs > p.Clock.ErrorMs+5 || p.Clock.OffsetMs < -p.Clock.ErrorMs-5 {
			t.Errorf("shard %d segment %d: clock %+v; on one machine the offset is within its error", p.Shard, p.Segment, p.Clock)
		}
	}
	if got := target.requests.Load(); got != 2000 || m.Planned != 2000 || m.Sent != 2000 || sent != m.Sent || done != m.Total.Count {
		t.Errorf("the target got %d; merged planned %d sent %d done %d; the parts sent %d done %d; the plan has 2000",
			got, m.Planned, m.Sent, m.Total.Count, sent, done)
	}
	t.Logf("merged rate %.2f/s over %.3fs, send lag p50 %.1fms p99 %.1fms, late %d", m.AchievedRate, m.ElapsedSeconds, m.Lag.P50, m.Lag.P99, m.Late)
	for _, p := range m.Merged.Parts {
		t.Logf("shard %d segment %d: ready %.1fms late, clock %+.2fms ±%.2fms", p.Shard, p.Segment, p.ReadyLateMs, p.Clock.OffsetMs, p.Clock.ErrorMs)
	}
	if planned := float64(m.Planned) / m.PlanSeconds; m.AchievedRate < planned*0.99 || m.AchievedRate > planned*1.01 {
		t.Errorf("merged rate %.2f/s, the plan's %.2f/s", m.AchievedRate, planned)
	}
	if c := target.crossings.Load(); c != 0 {
		t.Errorf("%d requests touched another shard's item", c)
	}
	if s := pool.Stats(); s.Starts < 3 {
		t.Errorf("%d instances started, want one per part at least for the first segment's 3", s.Starts)
	}
	for _, want := range []string{"merged    6 of 6 parts", "PASS  errors<1%"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("the report lacks %q:\n%s", want, stdout)
		}
	}
}

// loadgenPIDs returns the processes of this test's loadgen binary.
func loadgenPIDs(t *testing.T, bin string) []int {
	t.Helper()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		t.Skip("no /proc to find the instance processes in")
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); err == nil && exe == bin {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestLoadOnLocalLambdaShardKilled kills one generator's instance process
// (SIGKILL) in the middle of the run: the run ends incomplete (exit 3),
// and the merged result names the missing shard, its planned requests and
// Lambda's error, never passing the rest off as the whole plan.
func TestLoadOnLocalLambdaShardKilled(t *testing.T) {
	_, endpoint, bin := localLambda(t)
	target := newSplitTarget(t, 300)
	out := filepath.Join(t.TempDir(), "merged.json")
	type exit struct {
		code           int
		stdout, stderr string
	}
	done := make(chan exit, 1)
	go func() {
		code, stdout, stderr := runSurge(t, "load", "--progress", "none", "--shards", "3", "--start-at", "+1s",
			"--on", "lambda://loadgen?endpoint="+endpoint, "--rate", "300", "--duration", "4s", "--preseed", "0", "--grace", "30s",
			"--payloads", "256B=1", "--out", out, target.URL)
		done <- exit{code, stdout, stderr}
	}()
	select {
	case <-target.reached:
	case e := <-done:
		t.Fatalf("the run ended before the target had 300 requests: exit %d\n%s\n%s", e.code, e.stdout, e.stderr)
	case <-time.After(60 * time.Second):
		t.Fatal("the target did not get 300 requests within 60s")
	}
	pids := loadgenPIDs(t, bin)
	if len(pids) != 3 {
		t.Fatalf("%d generator processes, want 3", len(pids))
	}
	if err := syscall.Kill(pids[0], syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	var e exit
	select {
	case e = <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the run did not end within 60s of the kill")
	}
	if e.code != incompleteExit || !strings.Contains(e.stderr, "incomplete") || !strings.Contains(e.stdout, "INCOMPLETE") {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", e.code, e.stdout, e.stderr)
	}
	m := readResultFile(t, out)
	if m.Stop != load.StopIncomplete || len(m.Merged.Parts) != 2 || len(m.Merged.Missing) != 1 {
		t.Fatalf("stop %q, merged %+v", m.Stop, m.Merged)
	}
	miss := m.Merged.Missing[0]
	if miss.Planned != 400 || !strings.Contains(miss.Reason, "Runtime.ExitError") || miss.From != 0 || miss.To != 4*time.Second {
		t.Errorf("missing %+v: want a shard's 400 planned requests, lost to Runtime.ExitError", miss)
	}
	if m.Planned != 1200 || m.Sent != 800 || m.Merged.MissingRequests != 400 {
		t.Errorf("planned %d sent %d missing %d; want 1200, 800 from the two others, 400", m.Planned, m.Sent, m.Merged.MissingRequests)
	}
	if got := target.requests.Load(); got <= m.Sent || got >= 1200 {
		t.Errorf("the target got %d requests: want the two shards' %d and some of the killed one's", got, m.Sent)
	}
}

// TestLoadEmitK8sPodsMerge runs the pods of the emitted Indexed Job here:
// each pod's command line, as the Job gives it (JOB_COMPLETION_INDEX put
// in, the Secret's scenario and the results volume in temporary
// directories), runs as surge would in its container; then surge load
// merge collects the results from the volume.
func TestLoadEmitK8sPodsMerge(t *testing.T) {
	target := newSplitTarget(t, 1)
	clock := startClock(t)
	code, manifest, stderr := runSurge(t, "load", "--shards", "3", "--emit", "k8s?image=surge:test&clock-url="+clock, "--start-at", "+1s",
		"--rate", "150", "--duration", "1s", "--preseed", "0", "--grace", "30s", "--payloads", "256B=1", target.URL)
	if code != 0 {
		t.Fatalf("emit: exit %d: %s", code, stderr)
	}
	docs := strings.Split(manifest, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d documents:\n%s", len(docs), manifest)
	}
	var secret corev1.Secret
	var job batchv1.Job
	if err := yaml.Unmarshal([]byte(docs[0]), &secret); err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal([]byte(docs[1]), &job); err != nil {
		t.Fatal(err)
	}
	etc, results := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(etc, "scenario.yaml"), []byte(secret.StringData["scenario.yaml"]), 0o600); err != nil {
		t.Fatal(err)
	}
	c := job.Spec.Template.Spec.Containers[0]
	var wg sync.WaitGroup
	for k := range int(*job.Spec.Completions) {
		var args []string
		for _, a := range c.Args {
			a = strings.ReplaceAll(a, "$(JOB_COMPLETION_INDEX)", strconv.Itoa(k))
			a = strings.Replace(a, "/etc/surge", etc, 1)
			args = append(args, strings.Replace(a, "/results", results, 1))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if code, out, errs := runSurge(t, append(args, "--progress", "none")...); code != 0 {
				t.Errorf("pod %d: exit %d\n%s\n%s", k, code, out, errs)
			}
		}()
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	out := filepath.Join(t.TempDir(), "merged.json")
	code, stdout, stderr := runSurge(t, "load", "merge", "--out", out, results)
	if code != 0 {
		t.Fatalf("merge: exit %d\n%s\n%s", code, stdout, stderr)
	}
	m := readResultFile(t, out)
	if m.Planned != 150 || m.Sent != 150 || target.requests.Load() != 150 || len(m.Merged.Parts) != 3 || m.Stop != "completed" {
		t.Errorf("merged planned %d sent %d stop %q parts %d; the target got %d; want 150 in 3 parts",
			m.Planned, m.Sent, m.Stop, len(m.Merged.Parts), target.requests.Load())
	}
	for _, p := range m.Merged.Parts {
		if p.Clock.Via != load.ClockViaHTTP || p.Clock.OffsetMs > p.Clock.ErrorMs+5 || p.Clock.OffsetMs < -p.Clock.ErrorMs-5 {
			t.Errorf("shard %d: clock %+v, want measured against surge load clock, within its error", p.Shard, p.Clock)
		}
	}

	// A merged result is a result: report and compare take it.
	if code, stdout, stderr := runSurge(t, "load", "report", "--threshold", "count>=150", out); code != 0 ||
		!strings.Contains(stdout, "merged    3 of 3 parts") || !strings.Contains(stdout, "PASS  count>=150") {
		t.Errorf("report: exit %d\n%s\n%s", code, stdout, stderr)
	}
	if code, stdout, stderr := runSurge(t, "load", "compare", out, out); code != 0 || !strings.Contains(stdout, "read") {
		t.Errorf("compare: exit %d\n%s\n%s", code, stdout, stderr)
	}

	t.Run("MissingPod", func(t *testing.T) {
		files, _ := filepath.Glob(filepath.Join(results, "*.json"))
		code, stdout, stderr := runSurge(t, "load", "merge", files[0], files[2])
		if code != incompleteExit || !strings.Contains(stdout, "missing shard 1") || !strings.Contains(stderr, "no result given") {
			t.Errorf("exit %d\n%s\n%s", code, stdout, stderr)
		}
	})
	t.Run("DifferentPlans", func(t *testing.T) {
		// The same plan but for its rate: same start, same seed.
		other := filepath.Join(t.TempDir(), "other.json")
		start, seed := job.Annotations["surge.dev/start-at"], ""
		for i, a := range c.Args {
			if a == "--seed" {
				seed = c.Args[i+1]
			}
		}
		code, _, stderr := runSurge(t, "load", "--progress", "none", "--shards", "3", "--shard", "0", "--start-at", start, "--seed", seed,
			"--rate", "30", "--duration", "1s", "--preseed", "0", "--grace", "30s", "--payloads", "256B=1", "--out", other, target.URL)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		files, _ := filepath.Glob(filepath.Join(results, "*.json"))
		code, _, stderr = runSurge(t, "load", "merge", files[1], other)
		if code == 0 || !strings.Contains(stderr, "results of different plans") || !strings.HasSuffix(strings.TrimSpace(stderr), "scenario.rate 150 and 30") {
			t.Errorf("exit %d: %s", code, stderr)
		}
	})
}
