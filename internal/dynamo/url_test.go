package dynamo_test

import (
	"testing"

	"github.com/surgehq/surge/internal/dynamo"
	"github.com/surgehq/surge/internal/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/items"
)

func TestParseURL(t *testing.T) {
	for raw, want := range map[string]dynamo.URL{
		"dynamodb://items":                  {Table: "items"},
		"dynamodb://items?region=eu-west-1": {Table: "items", Region: "eu-west-1"},
		"dynamodb://my.table_1-x?consistent=true&endpoint=http://127.0.0.1:8000": {Table: "my.table_1-x", Endpoint: "http://127.0.0.1:8000", Consistent: true},
		"dynamodb://items/": {Table: "items"},
	} {
		got, err := dynamo.ParseURL(raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if *got != want {
			t.Errorf("%s: got %+v, want %+v", raw, *got, want)
		}
	}
	for _, raw := range []string{
		"sqlite://items", "dynamodb://", "dynamodb://ab", "dynamodb://items?endpoint=127.0.0.1:8000",
		"dynamodb://items?colour=red", "dynamodb://items?region=a&region=b", "dynamodb://items?consistent=yes",
		"dynamodb://items:8000", "dynamodb://items/sub", "dynamodb://u:p@items", "dynamodb://it$ems",
	} {
		if _, err := dynamo.ParseURL(raw); err == nil {
			t.Errorf("%s: parsed without error", raw)
		}
	}
}

// TestOpenURL opens a store on dynalite by URL, with no credentials
// configured: the dummy ones are used.
func TestOpenURL(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	table := dynalitetest.NewTable(t, dynalitetest.NewClient(endpoint))
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_REGION", "")
	s, err := dynamo.OpenURL(ctx, "dynamodb://"+table+"?endpoint="+endpoint+"&consistent=true")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("ping: %v", err)
	}
	if got := s.Client().Options().Region; got != dynamo.DefaultRegion {
		t.Errorf("region: got %q, want %q", got, dynamo.DefaultRegion)
	}
	it := mustCreate(t, s, items.Key{Tenant: "t", ID: "a"}, `{"x":1}`)
	got, err := s.Get(ctx, it.Key, items.ReadOptions{})
	if err != nil || got.Rev != it.Rev {
		t.Fatalf("get: got %v, %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := s.Get(ctx, it.Key, items.ReadOptions{}); items.ErrorCode(err) != items.EUNAVAILABLE {
		t.Fatalf("get after close: got %v, want %s", err, items.EUNAVAILABLE)
	}
}
