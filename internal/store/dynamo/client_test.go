package dynamo_test

import (
	"testing"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

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
	u, err := store.Parse("dynamodb://" + table + "?endpoint=" + endpoint + "&consistent=true")
	if err != nil {
		t.Fatal(err)
	}
	s, err := dynamo.Open(ctx, u)
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
