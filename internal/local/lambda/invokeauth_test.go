package lambda_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	"github.com/aws/smithy-go"

	"github.com/surgehq/surge/internal/local/lambda"
)

// TestInvokeAuth: the Invoke API behind InvokeAuth answers the AWS SDK
// when it signs with the run's token as its secret key, and a bearer
// token; it refuses anything else as AWS does.
func TestInvokeAuth(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	f := newFault(t, lambda.Config{Name: "fn-auth", ReservedConcurrency: 2})
	srv := httptest.NewServer(lambda.InvokeAuth(token, lambda.NewInvokeAPI(f.Pool)))
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sdk := func(creds aws.CredentialsProvider) *awslambda.Client {
		return awslambda.New(awslambda.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
			Credentials: creds, RetryMaxAttempts: 1})
	}
	invoke := func(c *awslambda.Client) error {
		_, err := c.Invoke(ctx, &awslambda.InvokeInput{FunctionName: aws.String("fn-auth"), Payload: event("/echo")})
		return err
	}
	t.Run("SignedWithTheToken", func(t *testing.T) {
		if err := invoke(sdk(credentials.NewStaticCredentialsProvider("any-key-id", token, ""))); err != nil {
			t.Fatal(err)
		}
	})
	for _, c := range []struct {
		name  string
		creds aws.CredentialsProvider
		code  string
	}{
		{"SignedWithAnotherKey", credentials.NewStaticCredentialsProvider("any-key-id", token[:31]+"x", ""), "InvalidSignatureException"},
		{"Anonymous", aws.AnonymousCredentials{}, "UnrecognizedClientException"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := invoke(sdk(c.creds))
			var ae smithy.APIError
			if !errors.As(err, &ae) || ae.ErrorCode() != c.code {
				t.Fatalf("got %v, want %s", err, c.code)
			}
		})
	}
	bearer := func(auth string) int {
		req, _ := http.NewRequest("POST", srv.URL+"/2015-03-31/functions/fn-auth/invocations", strings.NewReader(`{}`))
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if got := bearer("Bearer " + token); got != 200 {
		t.Errorf("bearer token: got %d, want 200", got)
	}
	for _, auth := range []string{"", "Bearer " + token[:31], "Bearer " + token + "x", "Basic Zm9vOmJhcg==", "AWS4-HMAC-SHA256 nonsense"} {
		if got := bearer(auth); got != 403 {
			t.Errorf("Authorization %q: got %d, want 403", auth, got)
		}
	}
}

// TestVerifySigV4ContentLength: a signature is checked over the headers
// the client signed, Content-Length among them (the Go SDK) or not
// (botocore, which signs content-type, host, x-amz-date and x-amz-target
// only); a changed body or another secret fails either way.
func TestVerifySigV4ContentLength(t *testing.T) {
	const secret = "the-runs-secret"
	body := `{"TableName":"items","Item":{"id":{"S":"a"}}}`
	signed := func(signLength bool, key string) *http.Request {
		req := httptest.NewRequest("POST", "http://127.0.0.1:4567/", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
		if !signLength {
			req.ContentLength = 0 // the signer then leaves it out, as botocore does
		}
		sum := sha256.Sum256([]byte(body))
		creds := aws.Credentials{AccessKeyID: "surgelocal", SecretAccessKey: key}
		if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "dynamodb", "us-east-1", time.Now()); err != nil {
			t.Fatal(err)
		}
		req.ContentLength = int64(len(body))
		return req
	}
	for _, signLength := range []bool{true, false} {
		if ok, why := lambda.VerifySigV4(signed(signLength, secret), secret, 1<<20); !ok {
			t.Errorf("content-length signed %v: refused: %s", signLength, why)
		}
		if ok, _ := lambda.VerifySigV4(signed(signLength, "another"), secret, 1<<20); ok {
			t.Errorf("content-length signed %v: another secret accepted", signLength)
		}
		req := signed(signLength, secret)
		req.Body = io.NopCloser(strings.NewReader(strings.Replace(body, `"a"`, `"b"`, 1)))
		if ok, _ := lambda.VerifySigV4(req, secret, 1<<20); ok {
			t.Errorf("content-length signed %v: a changed body accepted", signLength)
		}
	}
}

// FuzzVerifySigV4: any Authorization header, date and body, as a
// stranger to the Invoke API or the table's front may send them, is
// answered without a panic, and never accepted without the secret.
func FuzzVerifySigV4(f *testing.F) {
	now := time.Now().UTC().Format("20060102T150405Z")
	f.Add("AWS4-HMAC-SHA256 Credential=surgelocal/"+now[:8]+"/us-east-1/dynamodb/aws4_request, SignedHeaders=content-length;host;x-amz-date, Signature=00", now, `{}`)
	f.Add("AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request,SignedHeaders=host,Signature=x", "20260101T000000Z", "")
	f.Add("AWS4-HMAC-SHA256 ", "", "")
	f.Add("AWS4-HMAC-SHA256 Credential=/////,SignedHeaders=;;;,Signature==", now, "\x00")
	f.Fuzz(func(t *testing.T, auth, date, body string) {
		req := httptest.NewRequest("POST", "http://127.0.0.1:4567/", strings.NewReader(body))
		req.Header.Set("Authorization", auth)
		req.Header.Set("X-Amz-Date", date)
		if ok, _ := lambda.VerifySigV4(req, "the-runs-secret", 1<<20); ok {
			t.Fatalf("accepted without the secret: %q %q", auth, date)
		}
	})
}
