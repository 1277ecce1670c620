package lambda_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"

	"github.com/surgehq/surge/internal/local/lambda"
	"github.com/surgehq/surge/internal/store/sqlite"
)

// newItems starts a pool of the real items function (package function,
// as `surge function` runs it) over a SQLite file that its instances
// share, and the integration in front of it.
func newItems(t *testing.T) (*lambda.Pool, string) {
	t.Helper()
	db := filepath.Join(t.TempDir(), "items.db")
	// The schema is made once, before the instances open the file, as
	// `surge serve` does.
	st, err := sqlite.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	exe, _ := os.Executable()
	p, _ := startPool(t, lambda.Config{Name: "items", Command: []string{exe},
		Env: []string{"SURGE_LAMBDA_TEST_FUNCTION=items", "SURGE_STORE=sqlite:" + db, "SURGE_LOG_LEVEL=warn"}})
	srv := front(t, lambda.NewIntegration(p, lambda.IntegrationOptions{Routes: itemsRoutes()}))
	return p, srv.URL
}

// TestItemsAPIThroughThePool runs internal/api/itemsapi's HTTP tests, the
// ones the in-process server passes, against the gateway in front of a
// pool of function processes.
func TestItemsAPIThroughThePool(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs internal/api/itemsapi's tests")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("SKIP: no go command to run internal/api/itemsapi's tests with")
	}
	p, url := newItems(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, goTool, "test", "-count=1", "-v", ".")
	cmd.Dir = filepath.Join("..", "..", "api", "itemsapi")
	cmd.Env = append(os.Environ(), "SURGE_ITEMSAPI_URL="+url)
	out, err := cmd.CombinedOutput()
	passed := regexp.MustCompile(`(?m)^--- PASS: `).FindAll(out, -1)
	skipped := regexp.MustCompile(`(?m)^--- SKIP: (\S+)`).FindAllSubmatch(out, -1)
	var names []string
	for _, s := range skipped {
		names = append(names, string(s[1]))
	}
	t.Logf("internal/api/itemsapi through the pool: %d tests passed, %d skipped (they need the handler in process: %s); %d instances started",
		len(passed), len(skipped), strings.Join(names, ", "), p.Stats().Starts)
	if err != nil {
		t.Fatalf("internal/api/itemsapi's tests through the pool: %v\n%s", err, out)
	}
	if len(passed) < 10 {
		t.Errorf("only %d tests passed:\n%s", len(passed), out)
	}
}

// TestSeedEventAndSharedStore sends the original application's direct
// invocation event through the Invoke API with the SDK, and reads what
// it wrote through the gateway, from other instances of the same file.
func TestSeedEventAndSharedStore(t *testing.T) {
	p, url := newItems(t)
	api := front(t, lambda.NewInvokeAPI(p))
	c := sdkClient(api.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("items"),
		Payload: []byte(`{"operation":"create","tableName":"items","payload":{"Item":{"id":"seed-1","name":"from the seed"}}}`)})
	if err != nil {
		t.Fatal(err)
	}
	if string(out.Payload) != `{"statusCode": 200, "headers": {"Content-Type": "application/json", "Access-Control-Allow-Origin": "*"}, "body": "{}"}` {
		t.Errorf("create: got %s", out.Payload)
	}
	out, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("items"), Payload: []byte(`{"operation":"ping"}`)})
	if err != nil || !strings.Contains(string(out.Payload), `"body": "\"pong\""`) {
		t.Errorf("ping: got %v %s", err, out.Payload)
	}

	// Eight writers at once: eight instances, one SQLite file.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			body := fmt.Sprintf(`{"operation":"create","payload":{"Item":{"id":"w%d"}}}`, i)
			if _, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("items"), Payload: []byte(body)}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	code, h, body := get(t, url+"/items?limit=100")
	var page struct{ Items []struct{ ID string } }
	json.Unmarshal(body, &page)
	if code != 200 || len(page.Items) != 9 || !strings.Contains(h.Get("Server-Timing"), "store;dur=") {
		t.Errorf("list: got %d %v %s", code, h, body)
	}
	if s := p.Stats(); s.Starts < 2 {
		t.Errorf("got %d instances, want several sharing the file", s.Starts)
	}
}
