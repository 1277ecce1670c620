package dynamo_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store/dynamo"
	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// TestItemSizeMatchesEngine finds the largest item the engine accepts and
// checks that ItemSize counts it at exactly 400 KB: the engine and the
// store agree on where the limit is, for every value type an item uses.
func TestItemSizeMatchesEngine(t *testing.T) {
	t.Parallel()
	client := dynalitetest.NewClient(dynalitetest.Start(t))
	table := dynalitetest.NewTable(t, client)
	item := func(pad int) map[string]types.AttributeValue {
		attrs, err := dynamo.AttributesToAV(items.Attributes(
			`{"n":-123.45,"big":12345678901234567890123456789012345678,"b":true,"z":null,` +
				`"l":[1,"x",[],{}],"m":{"k":{"k2":0.001}},"pad":"` + strings.Repeat("p", pad) + `"}`))
		if err != nil {
			t.Fatal(err)
		}
		return map[string]types.AttributeValue{
			"tenant": &types.AttributeValueMemberS{Value: "tenant"},
			"id":     &types.AttributeValueMemberS{Value: "id"},
			"n":      &types.AttributeValueMemberN{Value: "1741234567891"},
			"attrs":  attrs,
		}
	}
	fits := func(pad int) bool {
		_, err := client.PutItem(context.Background(), &dynamodb.PutItemInput{TableName: aws.String(table), Item: item(pad)})
		if err == nil {
			return true
		}
		if !strings.Contains(err.Error(), "size") {
			t.Fatalf("put: %v", err)
		}
		return false
	}
	lo, hi := 0, items.MaxItemSize // fits(lo), !fits(hi)
	for range 25 {
		if hi-lo <= 1 {
			break
		}
		mid := (lo + hi) / 2
		if fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	if got := dynamo.ItemSize(item(lo)); got != items.MaxItemSize {
		t.Fatalf("the largest item the engine takes counts %d bytes, want %d", got, items.MaxItemSize)
	}
}

// faultyTransport answers the first n DynamoDB requests of an operation
// with a throttling error (n < 0: all of them) and passes the rest on.
type faultyTransport struct {
	op    string // X-Amz-Target suffix, such as "PutItem"
	code  string
	n     int64
	seen  atomic.Int64
	inner http.RoundTripper
}

func (f *faultyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if strings.HasSuffix(r.Header.Get("X-Amz-Target"), "."+f.op) {
		if k := f.seen.Add(1); f.n < 0 || k <= f.n {
			body := fmt.Sprintf(`{"__type":"com.amazonaws.dynamodb.v20120810#%s","message":"injected %s"}`, f.code, f.code)
			if r.Body != nil {
				io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			return &http.Response{
				StatusCode: http.StatusBadRequest,
				Status:     "400 Bad Request",
				Header:     http.Header{"Content-Type": {"application/x-amz-json-1.0"}, "X-Amzn-Requestid": {"injected"}},
				Body:       io.NopCloser(strings.NewReader(body)),
				Request:    r,
			}, nil
		}
	}
	return f.inner.RoundTrip(r)
}

// TestThrottling: throttling errors are retried by the SDK's retryer, and
// once attempts run out the store answers EUNAVAILABLE with a Retry-After.
func TestThrottling(t *testing.T) {
	t.Parallel()
	endpoint := dynalitetest.Start(t)
	base := dynalitetest.NewClient(endpoint)
	table := dynalitetest.NewTable(t, base)
	const attempts = 4
	for _, code := range []string{"ProvisionedThroughputExceededException", "ThrottlingException", "RequestLimitExceeded"} {
		t.Run(code, func(t *testing.T) {
			ft := &faultyTransport{op: "PutItem", code: code, inner: http.DefaultTransport}
			client := dynamodb.New(dynamodb.Options{
				Region:       "us-east-1",
				BaseEndpoint: aws.String(endpoint),
				Credentials:  credentials.NewStaticCredentialsProvider("surgelocal", "surgelocal", ""),
				HTTPClient:   &http.Client{Transport: ft},
			})
			s := dynamo.New(client, table, dynamo.WithMaxAttempts(attempts), dynamo.WithMaxBackoff(time.Millisecond))
			tenant := "throttle-" + code

			// A few throttles, then success.
			ft.n = attempts - 1
			if _, err := s.Create(ctx, items.Key{Tenant: tenant, ID: "a"}, nil, nil); err != nil {
				t.Fatalf("create after %d throttles: %v", ft.n, err)
			}
			if got := ft.seen.Load(); got != attempts {
				t.Fatalf("got %d attempts, want %d", got, attempts)
			}
			if _, err := s.Get(ctx, items.Key{Tenant: tenant, ID: "a"}, items.ReadOptions{Consistent: true}); err != nil {
				t.Fatalf("get after the retried create: %v", err)
			}

			// Throttled always: EUNAVAILABLE after the attempts.
			ft.n, ft.seen = -1, atomic.Int64{}
			_, err := s.Create(ctx, items.Key{Tenant: tenant, ID: "b"}, nil, nil)
			if items.ErrorCode(err) != items.EUNAVAILABLE || items.RetryAfter(err) < 1 {
				t.Fatalf("always throttled: got %v (retry after %d), want %s with a Retry-After", err, items.RetryAfter(err), items.EUNAVAILABLE)
			}
			if strings.Contains(items.ErrorMessage(err), "injected") {
				t.Fatalf("the message shows DynamoDB's text: %q", items.ErrorMessage(err))
			}
			if got := ft.seen.Load(); got != attempts {
				t.Fatalf("got %d attempts, want %d", got, attempts)
			}
		})
	}
}

// TestThrottledTransaction: a throttled idempotent create is retried too.
func TestThrottledTransaction(t *testing.T) {
	t.Parallel()
	endpoint := dynalitetest.Start(t)
	table := dynalitetest.NewTable(t, dynalitetest.NewClient(endpoint))
	ft := &faultyTransport{op: "TransactWriteItems", code: "ThrottlingException", n: 2, inner: http.DefaultTransport}
	client := dynamodb.New(dynamodb.Options{
		Region: "us-east-1", BaseEndpoint: aws.String(endpoint),
		Credentials: credentials.NewStaticCredentialsProvider("surgelocal", "surgelocal", ""),
		HTTPClient:  &http.Client{Transport: ft},
	})
	s := dynamo.New(client, table, dynamo.WithMaxAttempts(3), dynamo.WithMaxBackoff(time.Millisecond))
	if _, err := s.Create(ctx, items.Key{Tenant: "t", ID: "a"}, nil, &items.Idempotency{Key: "k", Hash: "h"}); err != nil {
		t.Fatalf("create after 2 throttles: %v", err)
	}
	ft.n, ft.seen = -1, atomic.Int64{}
	_, err := s.Create(ctx, items.Key{Tenant: "t", ID: "b"}, nil, &items.Idempotency{Key: "k2", Hash: "h"})
	if items.ErrorCode(err) != items.EUNAVAILABLE {
		t.Fatalf("always throttled: got %v, want %s", err, items.EUNAVAILABLE)
	}
}

// TestInternalErrors: other DynamoDB errors are internal, their text kept
// from clients.
func TestInternalErrors(t *testing.T) {
	t.Parallel()
	s := dynamo.New(dynalitetest.NewClient(dynalitetest.Start(t)), dynalitetest.TableName())
	_, err := s.Get(ctx, items.Key{Tenant: "t", ID: "a"}, items.ReadOptions{})
	if items.ErrorCode(err) != items.EINTERNAL || items.ErrorMessage(err) != "Internal error." {
		t.Fatalf("get from a missing table: got %v (%s)", err, items.ErrorMessage(err))
	}
	if !strings.Contains(err.Error(), "ResourceNotFoundException") {
		t.Errorf("the internal error does not say what failed: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("ping of a missing table succeeded")
	}
}
