package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/surgehq/surge/internal/load"
	"github.com/surgehq/surge/internal/load/shard"
)

// s3Server is an S3-API server in this process (gofakes3) with a bucket
// named results.
func s3Server(t *testing.T) (*httptest.Server, *s3mem.Backend) {
	backend := s3mem.New()
	srv := httptest.NewServer(gofakes3.New(backend).Server())
	t.Cleanup(srv.Close)
	if err := backend.CreateBucket("results"); err != nil {
		t.Fatal(err)
	}
	return srv, backend
}

// TestBucketStoresAndPresigns writes a part's result with aws-sdk-go-v2's
// S3 client to an S3-API server over loopback, and reads it back by the
// presigned URL alone, as the coordinator does.
func TestBucketStoresAndPresigns(t *testing.T) {
	srv, backend := s3Server(t)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	b := newBucket(cfg, "results", srv.URL)

	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		if r.Method == http.MethodPost {
			w.WriteHeader(http.StatusCreated)
		}
		io.WriteString(w, `{"id":"a"}`)
	}))
	t.Cleanup(target.Close)
	s := load.DefaultScenario()
	s.Target, s.Rate, s.Duration, s.IDs.Preseed, s.Grace = target.URL, 50, 200*time.Millisecond, 0, 30*time.Second
	parts, err := load.Split{Shards: 1, StartAt: time.Now(), Seed: 2}.Parts(&s)
	if err != nil {
		t.Fatal(err)
	}
	h := &shard.Handler{Store: b, InlineMax: 1000}
	resp, err := h.Handle(context.Background(), shard.Event{Scenario: s, Part: parts[0], SentAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	st := resp.Stored
	if st == nil || st.Bucket != "results" || st.Key != shard.Key(parts[0]) || !strings.Contains(st.URL, "X-Amz-Signature=") {
		t.Fatalf("stored %+v: want the key in the bucket and a presigned URL", st)
	}
	obj, err := backend.HeadObject("results", st.Key)
	if err != nil || obj.Size != st.Size {
		t.Fatalf("the bucket has %+v (%v), want %d bytes", obj, err, st.Size)
	}
	res, err := shard.Fetch(context.Background(), http.DefaultClient, st)
	if err != nil {
		t.Fatal(err)
	}
	if res.Sent != 10 || res.Part.PlanID != parts[0].PlanID {
		t.Errorf("fetched: sent %d, plan %s", res.Sent, res.Part.PlanID)
	}
}

func TestHandlerFromEnvironment(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := func(kv ...string) func(string) string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return func(k string) string { return m[k] }
	}
	h, err := handler(context.Background(), env(), log)
	if err != nil || h.Store != nil || h.InlineMax != 0 {
		t.Errorf("no environment: %+v %v", h, err)
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "local")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	h, err = handler(context.Background(), env("SURGE_RESULTS_BUCKET", "results", "AWS_REGION", "eu-west-1", "SURGE_RESULTS_INLINE_MAX", "5000"), log)
	if err != nil || h.Store == nil || h.InlineMax != 5000 {
		t.Errorf("a bucket: %+v %v", h, err)
	}
	for _, bad := range []string{"0", "lots", "7000000"} {
		if _, err := handler(context.Background(), env("SURGE_RESULTS_INLINE_MAX", bad), log); err == nil {
			t.Errorf("SURGE_RESULTS_INLINE_MAX=%s accepted", bad)
		}
	}
}
