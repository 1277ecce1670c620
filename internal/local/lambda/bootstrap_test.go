package lambda_test

import (
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// TestBootstrapOverDynamoDB runs the Lambda entry point itself, cmd/bootstrap
// built for this machine and unchanged, as the pool's function, its
// instances sharing a DynamoDB table (dynalite).
func TestBootstrapOverDynamoDB(t *testing.T) {
	if testing.Short() {
		t.Skip("builds cmd/bootstrap and starts dynalite")
	}
	endpoint := dynalitetest.Start(t)
	table := dynalitetest.NewTable(t, dynalitetest.NewClient(endpoint))
	bootstrap := filepath.Join(t.TempDir(), "bootstrap")
	build := exec.Command("go", "build", "-tags", "lambda.norpc", "-o", bootstrap, "../../../cmd/bootstrap")
	build.Env = append(build.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build bootstrap: %v\n%s", err, out)
	}
	// The harness's credentials: DynamoDB Local keeps a database per access
	// key id, and takes letters and digits only.
	p, _ := startPool(t, lambda.Config{Name: "bootstrap", Command: []string{bootstrap},
		Env: []string{"SURGE_TABLE=" + table, "SURGE_DYNAMODB_ENDPOINT=" + endpoint, "SURGE_CONSISTENT_READS=true",
			"AWS_ACCESS_KEY_ID=surgelocal", "AWS_SECRET_ACCESS_KEY=surgelocal"}})
	srv := front(t, lambda.NewIntegration(p, lambda.IntegrationOptions{Routes: itemsRoutes()}))

	// Four creates at once, each on an instance of its own unless one
	// finished before another began; then each read back.
	var wg sync.WaitGroup
	var mu sync.Mutex
	cold := 0
	start := make(chan struct{})
	for _, id := range []string{"d1", "d2", "d3", "d4"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resp, err := http.Post(srv.URL+"/items", "application/json", strings.NewReader(`{"id":"`+id+`","n":1}`))
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 201 {
				t.Errorf("create %s: got %d %v", id, resp.StatusCode, resp.Header)
			}
			if resp.Header.Get("X-Cold-Start") == "true" {
				mu.Lock()
				cold++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	for _, id := range []string{"d1", "d2", "d3", "d4"} {
		if code, h, body := get(t, srv.URL+"/items/"+id); code != 200 || !strings.Contains(h.Get("Server-Timing"), "store;dur=") {
			t.Errorf("read %s: got %d %v %s", id, code, h, body)
		}
	}
	if s := p.Stats(); s.Starts < 2 || int(s.Starts) != cold {
		t.Errorf("got %+v and %d cold starts, want several instances, each a cold start", s, cold)
	}
}
