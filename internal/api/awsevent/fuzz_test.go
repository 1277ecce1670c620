package awsevent_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
)

func addFixtureSeeds(f *testing.F, extra ...string) {
	for _, name := range []string{"aws-apigw-v1-request.json", "aws-apigw-v2-request.json", "aws-function-url-request.json"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range extra {
		f.Add([]byte(s))
	}
}

// echo answers with the request body, under the request's Content-Type.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	if ct := r.Header.Get("Content-Type"); ct != "" {
		w.Header().Set("Content-Type", ct)
	} else {
		w.Header().Set("Content-Type", "application/octet-stream")
	}
	w.Write(b)
})

// decodedBody returns a response event's body as bytes.
func decodedBody(t *testing.T, body string, b64 bool) []byte {
	if !b64 {
		return []byte(body)
	}
	b, err := base64.StdEncoding.DecodeString(body)
	if err != nil {
		t.Fatalf("response body is not base64: %v", err)
	}
	return b
}

func FuzzDetect(f *testing.F) {
	addFixtureSeeds(f, `{"operation":"ping"}`, `{"version":"2.0","rawPath":"/"}`, `[1]`, `{"httpMethod":"GET"`)
	f.Fuzz(func(t *testing.T, payload []byte) {
		k := awsevent.Detect(payload)
		switch k {
		case awsevent.KindV1:
			if !bytes.Contains(payload, []byte(`"httpMethod"`)) {
				t.Errorf("v1 without httpMethod: %q", payload)
			}
		case awsevent.KindV2:
			if !bytes.Contains(payload, []byte(`"rawPath"`)) {
				t.Errorf("v2 without rawPath: %q", payload)
			}
		}
	})
}

func FuzzServeV1(f *testing.F) {
	addFixtureSeeds(f,
		`{"httpMethod":"POST","path":"/items","body":"AP8=","isBase64Encoded":true,"headers":{"content-type":"image/png"}}`,
		`{"httpMethod":"GET","path":"x","multiValueQueryStringParameters":{"a":["1","2"]},"requestContext":{"authorizer":{"tenant":"t"}}}`)
	a := awsevent.New(echo)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var ev events.APIGatewayProxyRequest
		if json.Unmarshal(payload, &ev) != nil {
			return
		}
		resp := a.ServeV1(context.Background(), &ev)
		checkEcho(t, resp.StatusCode, ev.HTTPMethod, ev.Body, ev.IsBase64Encoded, resp.Body, resp.IsBase64Encoded)
		if _, err := json.Marshal(resp); err != nil {
			t.Errorf("response does not encode: %v", err)
		}
	})
}

func FuzzServeV2(f *testing.F) {
	addFixtureSeeds(f, `{"version":"2.0","rawPath":"/a%zz","rawQueryString":"%%","requestContext":{"http":{"method":"GET"},"stage":"a"}}`)
	a := awsevent.New(echo)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var ev events.APIGatewayV2HTTPRequest
		if json.Unmarshal(payload, &ev) != nil {
			return
		}
		resp := a.ServeV2(context.Background(), &ev)
		checkEcho(t, resp.StatusCode, ev.RequestContext.HTTP.Method, ev.Body, ev.IsBase64Encoded, resp.Body, resp.IsBase64Encoded)
	})
}

// checkEcho checks the echo handler's answer: 400/403 for a bad event,
// else the request body back (none for HEAD).
func checkEcho(t *testing.T, status int, method, reqBody string, reqB64 bool, body string, b64 bool) {
	t.Helper()
	switch status {
	case 400, 403:
		return
	case 200:
	default:
		t.Fatalf("got status %d", status)
	}
	want := []byte(reqBody)
	if reqB64 {
		want, _ = base64.StdEncoding.DecodeString(reqBody)
	}
	if method == http.MethodHead {
		want = nil
	}
	if got := decodedBody(t, body, b64); !bytes.Equal(got, want) {
		t.Errorf("echo: got %q, want %q", got, want)
	}
}

func FuzzWriteV1Response(f *testing.F) {
	f.Add([]byte(`{"statusCode":200,"headers":{"a":"b"},"multiValueHeaders":{"A":["c","d"]},"body":"x"}`))
	f.Add([]byte(`{"statusCode":204,"body":"AA==","isBase64Encoded":true}`))
	f.Add([]byte(`{"statusCode":99}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var resp events.APIGatewayProxyResponse
		if json.Unmarshal(payload, &resp) != nil {
			return
		}
		w := httptest.NewRecorder()
		if err := awsevent.WriteV1Response(w, &resp); err != nil {
			return
		}
		if w.Code != resp.StatusCode {
			t.Errorf("got status %d, want %d", w.Code, resp.StatusCode)
		}
	})
}
