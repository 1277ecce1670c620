package lambda_test

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/surgehq/surge/internal/local/lambda"
)

// sdkClient is aws-sdk-go-v2's Lambda client pointed at url.
func sdkClient(url string) *awslambda.Client {
	return awslambda.New(awslambda.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      aws.AnonymousCredentials{},
		RetryMaxAttempts: 1,
	})
}

func TestInvokeAPIWithTheSDK(t *testing.T) {
	f := newFault(t, lambda.Config{Name: "fn-sdk", ReservedConcurrency: 3})
	srv := httptest.NewServer(lambda.NewInvokeAPI(f.Pool))
	t.Cleanup(srv.Close)
	c := sdkClient(srv.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	t.Run("RequestResponse", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Payload: event("/echo")})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 200 || aws.ToString(out.ExecutedVersion) != "$LATEST" || out.FunctionError != nil ||
			!strings.Contains(string(out.Payload), `"pid":`) {
			t.Errorf("got %d %q %v %s", out.StatusCode, aws.ToString(out.ExecutedVersion), out.FunctionError, out.Payload)
		}
	})
	t.Run("ARNAndQualifier", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String(f.ARN()), Qualifier: aws.String("$LATEST"),
			Payload: event("/echo")})
		if err != nil || jsonField(t, out.Payload, "arn") != f.ARN()+":$LATEST" {
			t.Errorf("got %v %s", err, out.Payload)
		}
	})
	t.Run("FunctionErrorAndTail", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Payload: event("/error"),
			LogType: types.LogTypeTail})
		if err != nil {
			t.Fatal(err)
		}
		if out.StatusCode != 200 || aws.ToString(out.FunctionError) != "Unhandled" ||
			jsonField(t, out.Payload, "errorMessage") != "the test asked for a function error" {
			t.Errorf("got %d %v %s", out.StatusCode, out.FunctionError, out.Payload)
		}
		log, _ := base64.StdEncoding.DecodeString(aws.ToString(out.LogResult))
		for _, want := range []string{"START RequestId: ", "END RequestId: ", "REPORT RequestId: ", "Billed Duration: ", "Memory Size: 512 MB"} {
			if !strings.Contains(string(log), want) {
				t.Errorf("log tail lacks %q:\n%s", want, log)
			}
		}
	})
	t.Run("Concurrent", func(t *testing.T) {
		// Unlike the Runtime Interface Emulator, three at once run at once,
		// each on its own instance; a fourth is throttled.
		waitFor(t, f.Pool, "idle", func(s lambda.Stats) bool { return s.Busy == 0 })
		type run struct {
			pid        string
			start, end time.Time
		}
		var wg sync.WaitGroup
		runs := make(chan run, 3)
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				start := time.Now()
				out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Payload: event("/sleep", "ms", "800")})
				if err != nil {
					t.Error(err)
					return
				}
				runs <- run{jsonField(t, out.Payload, "pid"), start, time.Now()}
			}()
		}
		waitFor(t, f.Pool, "three busy", func(s lambda.Stats) bool { return s.Busy == 3 })
		_, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Payload: event("/echo")})
		var tooMany *types.TooManyRequestsException
		if !errors.As(err, &tooMany) || tooMany.Reason != types.ThrottleReasonReservedFunctionConcurrentInvocationLimitExceeded ||
			aws.ToString(tooMany.RetryAfterSeconds) != "1" {
			t.Errorf("a fourth: got %v", err)
		}
		wg.Wait()
		close(runs)
		seen := map[string]bool{}
		var lastStart, firstEnd time.Time
		for r := range runs {
			seen[r.pid] = true
			if r.start.After(lastStart) {
				lastStart = r.start
			}
			if firstEnd.IsZero() || r.end.Before(firstEnd) {
				firstEnd = r.end
			}
		}
		// Three instances, and the three invocations overlapped in time.
		if len(seen) != 3 || !lastStart.Before(firstEnd) {
			t.Errorf("got %d instances, last start %v, first end %v: want 3 at once", len(seen), lastStart, firstEnd)
		}
	})
	// After Concurrent: an event runs on an instance of its own once it is
	// accepted, and would take one of the three.
	t.Run("EventAndDryRun", func(t *testing.T) {
		out, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Payload: event("/echo"),
			InvocationType: types.InvocationTypeEvent})
		if err != nil || out.StatusCode != 202 {
			t.Errorf("Event: got %v %+v", err, out)
		}
		out, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), InvocationType: types.InvocationTypeDryRun})
		if err != nil || out.StatusCode != 204 {
			t.Errorf("DryRun: got %v %+v", err, out)
		}
	})
	t.Run("Errors", func(t *testing.T) {
		_, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("nope")})
		var notFound *types.ResourceNotFoundException
		if !errors.As(err, &notFound) || !strings.Contains(aws.ToString(notFound.Message), "function:nope") {
			t.Errorf("unknown function: got %v", err)
		}
		_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Qualifier: aws.String("7")})
		if !errors.As(err, &notFound) {
			t.Errorf("unknown version: got %v", err)
		}
		_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"), Payload: []byte("{not json")})
		var badContent *types.InvalidRequestContentException
		if !errors.As(err, &badContent) {
			t.Errorf("bad JSON: got %v", err)
		}
		_, err = c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-sdk"),
			Payload: []byte(`"` + strings.Repeat("x", 6<<20) + `"`)})
		var tooLarge *types.RequestTooLargeException
		if !errors.As(err, &tooLarge) {
			t.Errorf("too large: got %v", err)
		}
	})
}

func TestInvokeAPIRouting(t *testing.T) {
	a := lambda.NewInvokeAPI()
	for _, c := range []struct {
		method, path string
		status       int
	}{
		{"POST", "/2015-03-31/functions/x/invocations", 404},
		{"GET", "/2015-03-31/functions/x/invocations", 405},
		{"POST", "/2015-03-31/functions/x/y/invocations", 404},
		{"POST", "/2015-03-31/functions/bad%20name/invocations", 400},
		{"POST", "/2015-03-31/functions//invocations", 404},
	} {
		w := httptest.NewRecorder()
		a.ServeHTTP(w, httptest.NewRequest(c.method, c.path, nil))
		if w.Code != c.status || w.Header().Get("X-Amzn-Errortype") == "" {
			t.Errorf("%s %s: got %d %v, want %d", c.method, c.path, w.Code, w.Header(), c.status)
		}
	}
}
