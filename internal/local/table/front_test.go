package table_test

import (
	"context"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/local/table"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
	"github.com/surgehq/surge/internal/testkit/manualclock"
)

func TestMain(m *testing.M) { os.Exit(dynalitetest.Main(m)) }

// frontFor starts a front for the test's dynalite on a loopback port, its
// tables made from defaults, and returns its URL.
func frontFor(t *testing.T, counting table.Counting, defaults table.Config) (string, *table.Front) {
	t.Helper()
	engine := dynalitetest.Start(t)
	f, err := table.NewFront(table.FrontConfig{Engine: engine, Tables: table.NewTables(defaults), Counting: counting})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return srv.URL, f
}

// client is a DynamoDB client of the AWS SDK for endpoint; attempts 0
// keeps the SDK's standard retryer as it is (3 attempts).
func client(endpoint string, attempts int) *dynamodb.Client {
	return dynamodb.New(dynamodb.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(endpoint),
		Credentials:      credentials.NewStaticCredentialsProvider("surgelocal", "surgelocal", ""),
		RetryMaxAttempts: attempts,
	})
}

// createTable creates a store table (tenant and id as keys) through c,
// so that a front sees its capacity.
func createTable(t *testing.T, c *dynamodb.Client, o dynamo.TableOptions) string {
	t.Helper()
	name := dynalitetest.TableName()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := dynamo.CreateTable(ctx, c, name, o); err != nil {
		t.Fatalf("create table: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		dynamo.DeleteTable(ctx, c, name, 0)
	})
	return name
}

// put writes an item of about 100 bytes.
func put(ctx context.Context, c *dynamodb.Client, tableName, id string) error {
	_, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(tableName), Item: map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: id},
		"data": &types.AttributeValueMemberS{Value: strings.Repeat("x", 80)}}})
	return err
}

func isThrottle(err error) bool {
	var pt *types.ProvisionedThroughputExceededException
	return errors.As(err, &pt)
}

func TestFrontThrottlesAtTheLimit(t *testing.T) {
	clock := manualclock.New(epoch)
	rec := &recorder{}
	url, _ := frontFor(t, table.CountEngine, table.Config{Now: clock.Now, Observer: rec})
	c := client(url, 1) // no retries: every throttle is seen
	// The front learns the table's capacity from its CreateTable.
	name := createTable(t, c, dynamo.TableOptions{Billing: dynamo.Provisioned, RCU: 5, WCU: 5})
	ctx := context.Background()
	for i := range 5 {
		if err := put(ctx, c, name, fmt.Sprint("a", i)); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	err := put(ctx, c, name, "a5")
	if !isThrottle(err) {
		t.Fatalf("put 6 at 5 WCU: got %v, want ProvisionedThroughputExceededException", err)
	}
	// The throttled write never reached the engine.
	direct := client(dynalitetest.Start(t), 1)
	got, err := direct.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: "a5"}}})
	if err != nil || got.Item != nil {
		t.Fatalf("the throttled item: got %v, %v, want absent", got, err)
	}
	// DynamoDB's exact answer, as any client sees it.
	body := fmt.Sprintf(`{"TableName":%q,"Item":{"tenant":{"S":"t"},"id":{"S":"raw"}}}`, name)
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=surgelocal/20260302/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	req.Header.Set("X-Amz-Date", "20260302T070000Z")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	want := `{"__type":"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",` +
		`"message":"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API."}`
	if resp.StatusCode != http.StatusBadRequest || string(answer) != want || resp.Header.Get("Content-Type") != "application/x-amz-json-1.0" ||
		resp.Header.Get("X-Amz-Crc32") != strconv.FormatUint(uint64(crc32.ChecksumIEEE(answer)), 10) || resp.Header.Get("X-Amzn-Requestid") == "" {
		t.Errorf("raw answer: got %d %v %s, want 400 with %s", resp.StatusCode, resp.Header, answer, want)
	}
	// A second later the bucket has 5 units again.
	clock.Advance(time.Second)
	for i := range 5 {
		if err := put(ctx, c, name, fmt.Sprint("b", i)); err != nil {
			t.Fatalf("put %d a second later: %v", i, err)
		}
	}
	if err := put(ctx, c, name, "b5"); !isThrottle(err) {
		t.Fatalf("put 6 a second later: got %v, want throttled", err)
	}
	consumed, throttled, _ := rec.snapshot()
	if consumed[table.Write] != 10 || throttled[table.Write] != 3 {
		t.Errorf("observer: got %v units and %v throttles, want 10 write units and 3 write throttles", consumed, throttled)
	}
	// Reads have a bucket of their own, which has 10 units after the
	// second: 20 eventually consistent reads pass, the 21st is throttled.
	for i := range 21 {
		_, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name),
			Key: map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: "a0"}}})
		if (i < 20) != (err == nil) {
			t.Fatalf("read %d: got %v", i+1, err)
		}
	}
}

// advancing is an Observer that moves the table's clock by a second at
// every throttle, as if the client's backoff had lasted that long.
type advancing struct {
	*recorder
	clock *manualclock.Clock
	on    atomic.Bool
}

func (a *advancing) Throttled(table string, k table.Kind) {
	a.recorder.Throttled(table, k)
	if a.on.Load() {
		a.clock.Advance(time.Second)
	}
}

func TestFrontStandardRetryerBacksOff(t *testing.T) {
	clock := manualclock.New(epoch)
	obs := &advancing{recorder: &recorder{}, clock: clock}
	engine := dynalitetest.Start(t)
	f, err := table.NewFront(table.FrontConfig{Engine: engine, Tables: table.NewTables(table.Config{Now: clock.Now, Observer: obs})})
	if err != nil {
		t.Fatal(err)
	}
	// The times PutItem requests reach the front: the SDK's attempts.
	var mu sync.Mutex
	var arrivals []time.Time
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Amz-Target") == "DynamoDB_20120810.PutItem" {
			mu.Lock()
			arrivals = append(arrivals, time.Now())
			mu.Unlock()
		}
		f.ServeHTTP(w, r)
	}))
	defer srv.Close()
	attempts := func() []time.Time {
		mu.Lock()
		defer mu.Unlock()
		out := arrivals
		arrivals = nil
		return out
	}
	c := client(srv.URL, 0) // the SDK's standard retryer, as on AWS
	name := createTable(t, c, dynamo.TableOptions{Billing: dynamo.Provisioned, RCU: 1, WCU: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := put(ctx, c, name, "first"); err != nil {
		t.Fatal(err)
	}
	attempts()
	// The table's clock stands still: the SDK's DynamoDB client tries
	// four times, waiting up to 1, 2 and 4 s between (its throttle
	// backoff, doubling, with full jitter), and gives up with the
	// throttle.
	err = put(ctx, c, name, "second")
	if !isThrottle(err) {
		t.Fatalf("a write to an empty bucket that never refills: got %v, want ProvisionedThroughputExceededException", err)
	}
	at := attempts()
	if len(at) != 4 {
		t.Fatalf("the SDK made %d attempts, want 4", len(at))
	}
	// The bounds, with room for a loaded machine's latency.
	const slack = 2 * time.Second
	for i := 1; i < len(at); i++ {
		if d, most := at[i].Sub(at[i-1]), time.Second<<(i-1); d > most+slack {
			t.Errorf("backoff %d: %v, want at most %v", i, d, most)
		}
	}
	// With time passing during the backoff (a second of table time at
	// the throttle), the retry finds the unit refilled and succeeds.
	obs.on.Store(true)
	out, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: "third"}}})
	if err != nil {
		t.Fatalf("a write retried after a refill: %v", err)
	}
	res, _ := retry.GetAttemptResults(out.ResultMetadata)
	if len(res.Results) != 2 || !isThrottle(res.Results[0].Err) || len(attempts()) != 2 {
		t.Errorf("the SDK's attempts: %+v, want a throttle then a success", res.Results)
	}
	consumed, throttled, _ := obs.snapshot()
	if consumed[table.Write] != 2 || throttled[table.Write] != 5 {
		t.Errorf("charged %v write units and %d throttles, want 2 and 5", consumed[table.Write], throttled[table.Write])
	}
}

func TestFrontBurstAbsorbsASpike(t *testing.T) {
	clock := manualclock.New(epoch)
	url, _ := frontFor(t, table.CountEngine, table.Config{Now: clock.Now})
	c := client(url, 1)
	name := createTable(t, c, dynamo.TableOptions{Billing: dynamo.Provisioned, RCU: 1, WCU: 2})
	ctx := context.Background()
	n := 0
	for ; n < 10 && put(ctx, c, name, fmt.Sprint("drain", n)) == nil; n++ {
	}
	if n != 2 {
		t.Fatalf("a new 2 WCU table took %d writes, want 2", n)
	}
	// A minute idle keeps 120 units: a spike of 150 writes from 10
	// clients at once, 60 times the provisioned rate, has 120 pass.
	clock.Advance(time.Minute)
	var ok, throttled atomic.Int64
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			for i := range 15 {
				switch err := put(ctx, c, name, fmt.Sprint("spike", w, "-", i)); {
				case err == nil:
					ok.Add(1)
				case isThrottle(err):
					throttled.Add(1)
				default:
					t.Errorf("spike: %v", err)
				}
			}
		})
	}
	wg.Wait()
	if ok.Load() != 120 || throttled.Load() != 30 {
		t.Errorf("spike of 150 after a minute idle: %d passed, %d throttled; want 120 and 30", ok.Load(), throttled.Load())
	}
}

func TestFrontPassesThrough(t *testing.T) {
	rec := &recorder{}
	url, f := frontFor(t, table.CountEngine, table.Config{Observer: rec})
	c := client(url, 1)
	name := createTable(t, c, dynamo.TableOptions{}) // on-demand
	ctx := context.Background()
	for i := range 50 {
		if err := put(ctx, c, name, fmt.Sprint(i)); err != nil {
			t.Fatalf("on-demand put %d: %v", i, err)
		}
	}
	// The client did not ask for the consumed capacity: the front asked,
	// and the answer the SDK checked (its CRC32 included) has none.
	out, err := c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String(name), ConsistentRead: aws.Bool(true),
		Key: map[string]types.AttributeValue{"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: "1"}}})
	if err != nil || out.Item == nil || out.ConsumedCapacity != nil {
		t.Fatalf("get: got %+v, %v; want the item without ConsumedCapacity", out, err)
	}
	if _, err := c.ListTables(ctx, &dynamodb.ListTablesInput{}); err != nil {
		t.Fatal(err)
	}
	// The answer the client gets through the front is the engine's, byte
	// for byte, though the front asked for the consumed capacity.
	if _, err := c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(name), Item: map[string]types.AttributeValue{
		"tenant": &types.AttributeValueMemberS{Value: "t"}, "id": &types.AttributeValueMemberS{Value: "html"},
		"data": &types.AttributeValueMemberS{Value: "<a href='x'>&amp;</a> \u00e9 é"}}}); err != nil {
		t.Fatal(err)
	}
	get := fmt.Sprintf(`{"TableName":%q,"Key":{"tenant":{"S":"t"},"id":{"S":"html"}},"ConsistentRead":true}`, name)
	through, direct := rawCall(t, url, "GetItem", get), rawCall(t, dynalitetest.Start(t), "GetItem", get)
	if through != direct {
		t.Errorf("GetItem through the front:\n%s\nstraight from the engine:\n%s", through, direct)
	}
	consumed, _, _ := rec.snapshot()
	if consumed[table.Write] != 51 || consumed[table.Read] != 2 {
		t.Errorf("charged %v, want 2 read units and 51 write units", consumed)
	}
	tb, ok := f.Tables().Lookup(name)
	if !ok {
		t.Fatal("the front has no table for the one created through it")
	}
	if st := tb.Stats(); st.Mode != table.OnDemand || st.ConsumedWrite != 51 {
		t.Errorf("stats: got %+v", st)
	}
	// An UpdateTable through the front sets the capacity.
	// (A table with a global secondary index, as the store's, gives the
	// index its throughput too.)
	pt := &types.ProvisionedThroughput{ReadCapacityUnits: aws.Int64(3), WriteCapacityUnits: aws.Int64(4)}
	if _, err := c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String(name), BillingMode: types.BillingModeProvisioned,
		ProvisionedThroughput: pt, GlobalSecondaryIndexUpdates: []types.GlobalSecondaryIndexUpdate{
			{Update: &types.UpdateGlobalSecondaryIndexAction{IndexName: aws.String(items.IndexName), ProvisionedThroughput: pt}}}}); err != nil {
		t.Fatal(err)
	}
	if st := tb.Stats(); st.Mode != table.Provisioned || st.RCU != 3 || st.WCU != 4 {
		t.Errorf("after UpdateTable: got %+v", st)
	}
}

// rawCall sends a DynamoDB operation by hand and returns the answer's body.
func rawCall(t *testing.T, endpoint, op, body string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810."+op)
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=surgelocal/20260302/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0")
	req.Header.Set("X-Amz-Date", "20260302T070000Z")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("X-Amz-Crc32") != strconv.FormatUint(uint64(crc32.ChecksumIEEE(b)), 10) {
		t.Errorf("%s: X-Amz-Crc32 %s does not match the body", op, resp.Header.Get("X-Amz-Crc32"))
	}
	return string(b)
}
