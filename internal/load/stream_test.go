package load_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/surgehq/surge/internal/load"
)

// streamedRun runs against the items server with its result streamed to
// a file, and returns the result and the file's lines.
func streamedRun(t *testing.T) (*load.Result, [][]byte, string) {
	t.Helper()
	srv := newItemsServer(t)
	s := scenario(srv.URL)
	s.Thresholds = mustParse(t, "read.p99<10s,errors<50%")
	path := filepath.Join(t.TempDir(), "run.json")
	st, err := load.CreateStream(path)
	if err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, context.Background(), s, load.WithStream(st))
	if err := load.FinishStream(st, res); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return res, bytes.SplitAfter(data, []byte("\n")), path
}

func mustParse(t *testing.T, s string) load.Thresholds {
	t.Helper()
	ts, err := load.ParseThresholds(s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// TestStreamComplete reads a whole stream back as the result the run
// returned.
func TestStreamComplete(t *testing.T) {
	res, lines, path := streamedRun(t)
	if !bytes.HasPrefix(lines[0], []byte(`{"schema":"surge.load.stream/v1","record":"start"`)) {
		t.Fatalf("first line %.80q", lines[0])
	}
	got, err := load.ReadResultFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := roundTripResult(t, res)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("the stream's result differs from the run's")
	}
	if got.Partial {
		t.Error("a finished stream reads as partial")
	}
}

// TestStreamFinish: a finished run's file is the ordinary result, one
// JSON document, not the stream.
func TestStreamFinish(t *testing.T) {
	srv := newItemsServer(t)
	path := filepath.Join(t.TempDir(), "run.json")
	st, err := load.CreateStream(path)
	if err != nil {
		t.Fatal(err)
	}
	res := mustRun(t, context.Background(), scenario(srv.URL), load.WithStream(st))
	during, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(during, []byte(`{"schema":"surge.load.stream/v1"`)) {
		t.Fatalf("before Finish the file is not a stream: %.60q", during)
	}
	if err := st.Finish(res); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(data, &doc); err != nil || doc["schema"] != load.ResultSchema {
		t.Fatalf("after Finish the file is not one result document (%v): %.60q", err, data)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
	got, err := load.ReadResultFile(path)
	if err != nil || !reflect.DeepEqual(got, roundTripResult(t, res)) {
		t.Errorf("the result file reads back as another result (%v)", err)
	}
}

// TestStreamPartial cuts a stream before its result record, mid-line as
// a killed process leaves it: the intervals add up to the run's figures
// exactly (counts, statuses, histograms), and the result says it is
// partial.
func TestStreamPartial(t *testing.T) {
	res, lines, _ := streamedRun(t)
	n := len(lines) - 1 // the result record, then the empty tail
	if last := lines[len(lines)-1]; len(last) == 0 {
		n--
	}
	if !bytes.Contains(lines[n], []byte(`"record":"result"`)) {
		t.Fatalf("line %d is not the result: %.60q", n+1, lines[n])
	}
	intervals := bytes.Join(lines[:n], nil)
	cut := append(bytes.Clone(intervals), lines[n][:len(lines[n])/2]...)
	part, err := load.ReadResult(bytes.NewReader(cut))
	if err != nil {
		t.Fatal(err)
	}
	if !part.Partial || part.Stop != "partial" {
		t.Fatalf("partial = %v, stop = %q", part.Partial, part.Stop)
	}
	// As the result file holds them: an empty map or list and none are
	// the same there.
	if got, want := jsonOf(t, part.Series), jsonOf(t, res.Series); got != want {
		t.Errorf("series: the intervals give\n%s\nthe run\n%s", got, want)
	}
	if part.Sent != res.Sent || part.Late != res.Late || part.Total.Count != res.Total.Count {
		t.Errorf("sent/late/count = %d/%d/%d, want %d/%d/%d", part.Sent, part.Late, part.Total.Count, res.Sent, res.Late, res.Total.Count)
	}
	if part.Scenario.Target != res.Scenario.Target || !part.Started.Equal(res.Started) || part.PlanSeconds != res.PlanSeconds {
		t.Errorf("the start differs: %s %v %g", part.Scenario.Target, part.Started, part.PlanSeconds)
	}
	if len(part.Ops) != len(res.Ops) {
		t.Fatalf("%d operations, want %d", len(part.Ops), len(res.Ops))
	}
	for i, o := range append([]load.OpResult{res.Total}, res.Ops...) {
		p := part.Total
		if i > 0 {
			p = part.Ops[i-1]
		}
		if p.Name != o.Name || p.Count != o.Count || p.Errors != o.Errors || p.ColdStarts != o.ColdStarts ||
			!reflect.DeepEqual(p.Statuses, o.Statuses) || p.Latency != o.Latency || p.Service != o.Service ||
			p.LatencyHist != o.LatencyHist || len(p.ServerTiming) != len(o.ServerTiming) {
			t.Errorf("%s: the intervals add up to\n%+v\nwant\n%+v", o.Name, p, o)
		}
	}
	if !reflect.DeepEqual(part.PayloadLatency, res.PayloadLatency) {
		t.Errorf("payload latency differs")
	}
	if len(part.Thresholds) != 2 || part.Thresholds[0].Actual != res.Thresholds[0].Actual {
		t.Errorf("thresholds %+v, want them judged as the run's %+v", part.Thresholds, res.Thresholds)
	}

	// Fewer intervals: the result up to the last whole one.
	first, err := load.ReadResult(bytes.NewReader(bytes.Join(lines[:3], nil)))
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Series) != 2 || first.ElapsedSeconds != res.Series[1].T {
		t.Errorf("two intervals: %d points, %gs", len(first.Series), first.ElapsedSeconds)
	}
	var done int64
	for _, p := range res.Series[:2] {
		done += p.Done
	}
	if first.Total.Count != done {
		t.Errorf("two intervals count %d, their points %d", first.Total.Count, done)
	}
}

// TestStreamErrors: what is not a stream of this version is refused, with
// the line at fault.
func TestStreamErrors(t *testing.T) {
	_, lines, _ := streamedRun(t)
	for _, tt := range []struct {
		name, in, want string
	}{
		{"no start", `{"schema":"surge.load.stream/v1","record":"interval","interval":{}}` + "\n", "start record"},
		{"bad line", string(lines[0]) + "{nope\n" + string(lines[1]), "line 2"},
		{"bad histogram", string(lines[0]) + `{"record":"interval","interval":{"lagHist":"HISTFnope"}}` + "\n", "lag"},
		{"after the result", string(bytes.Join(lines, nil)) + string(lines[1]), "follows the result"},
		{"unknown record", string(lines[0]) + `{"record":"what"}` + "\n", `record "what"`},
	} {
		_, err := load.ReadResult(strings.NewReader(tt.in))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}

func roundTripResult(t *testing.T, r *load.Result) *load.Result {
	t.Helper()
	var buf bytes.Buffer
	if err := r.WriteJSON(&buf); err != nil {
		t.Fatal(err)
	}
	out, err := load.ReadResult(&buf)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzReadStream reads streams made of a real stream's records cut and
// changed: never a panic, and a stream that reads writes out and reads
// again.
func FuzzReadStream(f *testing.F) {
	f.Add([]byte(`{"schema":"surge.load.stream/v1","record":"start","start":{"scenario":{}}}` + "\n"))
	f.Add([]byte(`{"schema":"surge.load.stream/v1","record":"start","start":{}}` + "\n" +
		`{"record":"interval","interval":{"point":{"t":1,"done":3},"ops":[{"name":"read","count":3,"latencyHist":"HISTFAAAACl42pJpmSzMwMDAzMDAwAilGaBshmuTlzDYf4AIfGaOAAQAAP//YjIF2Q=="}]}}` + "\n" +
		`{"record":"interval","interval":{"point":{"t":2},"ops":[],"sent":4,"due":6}}` + "\n{\"rec"))
	f.Add([]byte(`{"schema":"surge.load.stream/v1","record":"start","start":{}}` + "\n" + `{"record":"result","result":{"schema":"surge.load.result/v1"}}` + "\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := load.ReadResult(bytes.NewReader(data))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := r.WriteJSON(&buf); err != nil {
			t.Fatal(err)
		}
		back, err := load.ReadResult(&buf)
		if err != nil {
			t.Fatalf("rewritten result does not read: %v", err)
		}
		if back.Partial != r.Partial || back.Total.Count != r.Total.Count {
			t.Fatalf("rewritten result differs: partial %v count %d, was %v %d", back.Partial, back.Total.Count, r.Partial, r.Total.Count)
		}
	})
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
