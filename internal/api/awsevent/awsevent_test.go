package awsevent_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"

	"github.com/surgehq/surge/internal/api/awsevent"
	"github.com/surgehq/surge/internal/items"
)

// seen is what a handler saw of a request.
type seen struct {
	Method, Path, RawPath, RawQuery, RequestURI, Host, RemoteAddr, Proto string
	Header                                                               http.Header
	Body                                                                 string
	ContentLength                                                        int64
	Tenant                                                               string
	Info                                                                 awsevent.Info
	PathValues                                                           map[string]string
}

// recorder returns a handler that records what it saw into *got and
// answers with answer.
func recorder(got *seen, names []string, answer http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		if err != nil {
			panic(err)
		}
		*got = seen{Method: r.Method, Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery,
			RequestURI: r.RequestURI, Host: r.Host, RemoteAddr: r.RemoteAddr, Proto: r.Proto,
			Header: r.Header, Body: string(b), ContentLength: r.ContentLength,
			Tenant: items.TenantFrom(r.Context()), PathValues: map[string]string{}}
		if in := awsevent.FromContext(r.Context()); in != nil {
			got.Info = *in
		}
		for _, n := range names {
			got.PathValues[n] = r.PathValue(n)
		}
		if answer != nil {
			answer(w, r)
		}
	})
}

func readFixture[T any](t *testing.T, name string) *T {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	v := new(T)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return v
}

func TestRequestFromV1(t *testing.T) {
	t.Run("AWSFixture", func(t *testing.T) {
		ev := readFixture[events.APIGatewayProxyRequest](t, "aws-apigw-v1-request.json")
		var got seen
		resp := awsevent.New(recorder(&got, []string{"proxy"}, nil)).ServeV1(context.Background(), ev)
		if resp.StatusCode != 200 {
			t.Fatalf("got status %d, want 200", resp.StatusCode)
		}
		want := seen{Method: "POST", Path: "/hello/world", RawQuery: "name=me", RequestURI: "/hello/world?name=me",
			Host: "gy415nuibc.execute-api.us-east-1.amazonaws.com", RemoteAddr: "192.168.196.186:0",
			Proto: "HTTP/1.1", Body: "{\r\n\t\"a\": 1\r\n}", ContentLength: 13, Tenant: items.DefaultTenant,
			Info:       awsevent.Info{Kind: awsevent.KindV1, RequestID: "deef4878-7910-11e6-8f14-25afc3e9ae33", Stage: "testStage", Route: "/{proxy+}"},
			PathValues: map[string]string{"proxy": "hello/world"}}
		hdr := got.Header
		got.Header = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if v := hdr.Values("X-Forwarded-For"); len(v) != 1 || v[0] != "54.240.196.186, 54.182.214.83" {
			t.Errorf("got X-Forwarded-For %q", v)
		}
		if v := hdr.Get("Cache-Control"); v != "no-cache" {
			t.Errorf("got Cache-Control %q (the event names it in lower case)", v)
		}
		if _, ok := hdr["Host"]; ok {
			t.Error("Host is in the header map; net/http keeps it in r.Host")
		}
	})
	t.Run("MultiValue", func(t *testing.T) {
		ev := &events.APIGatewayProxyRequest{
			HTTPMethod: "GET", Path: "/items", Resource: "/items",
			Headers:                         map[string]string{"accept": "text/plain", "X-Only-Single": "s"},
			MultiValueHeaders:               map[string][]string{"accept": {"application/json", "text/plain"}, "x-empty": {}},
			QueryStringParameters:           map[string]string{"tag": "b", "limit": "2", "q": "a b&c"},
			MultiValueQueryStringParameters: map[string][]string{"tag": {"a", "b"}, "limit": {"2"}, "q": {"a b&c"}},
		}
		var got seen
		awsevent.New(recorder(&got, nil, nil)).ServeV1(context.Background(), ev)
		if got.RawQuery != "limit=2&q=a+b%26c&tag=a&tag=b" {
			t.Errorf("got query %q", got.RawQuery)
		}
		if v := got.Header.Values("Accept"); !reflect.DeepEqual(v, []string{"application/json", "text/plain"}) {
			t.Errorf("got Accept %q, want both values once", v)
		}
		if v := got.Header.Get("X-Only-Single"); v != "s" {
			t.Errorf("got X-Only-Single %q, want s", v)
		}
		if got.Method != "GET" || got.Path != "/items" || got.Body != "" || got.ContentLength != 0 {
			t.Errorf("got %+v", got)
		}
	})
	t.Run("Base64Body", func(t *testing.T) {
		bin := []byte{0, 1, 2, 0xff, 0xfe, 'a'}
		ev := &events.APIGatewayProxyRequest{HTTPMethod: "PUT", Path: "/items/x",
			Headers: map[string]string{"Content-Type": "application/octet-stream", "Content-Length": "999"},
			Body:    base64.StdEncoding.EncodeToString(bin), IsBase64Encoded: true}
		var got seen
		awsevent.New(recorder(&got, nil, nil)).ServeV1(context.Background(), ev)
		if got.Body != string(bin) || got.ContentLength != int64(len(bin)) || got.Header.Get("Content-Length") != "6" {
			t.Errorf("got body %q, length %d, header %q", got.Body, got.ContentLength, got.Header.Get("Content-Length"))
		}
	})
	t.Run("Tenant", func(t *testing.T) {
		cases := []struct {
			name   string
			auth   map[string]any
			apiKey string
			opts   []awsevent.Option
			want   string
			status int
		}{
			{"authorizer", map[string]any{"tenant": "acme", "principalId": "u1"}, "", nil, "acme", 200},
			{"number", map[string]any{"tenant": float64(42)}, "", nil, "42", 200},
			{"none", map[string]any{"principalId": "u1"}, "", nil, items.DefaultTenant, 200},
			{"api key ignored without option", nil, "k1", nil, items.DefaultTenant, 200},
			{"api key", nil, "k1", []awsevent.Option{awsevent.WithAPIKeyTenant(true)}, "k1", 200},
			{"authorizer wins over api key", map[string]any{"tenant": "acme"}, "k1", []awsevent.Option{awsevent.WithAPIKeyTenant(true)}, "acme", 200},
			{"empty", map[string]any{"tenant": ""}, "", nil, "", 403},
			{"too long", map[string]any{"tenant": strings.Repeat("t", 129)}, "", nil, "", 403},
			{"bool", map[string]any{"tenant": true}, "", nil, "", 403},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				ev := &events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/items",
					// A client header never sets the tenant.
					Headers: map[string]string{"X-Tenant": "evil", "X-Api-Key": "evil"}}
				ev.RequestContext.Authorizer = c.auth
				ev.RequestContext.Identity.APIKeyID = c.apiKey
				got := seen{Tenant: "(not served)"}
				resp := awsevent.New(recorder(&got, nil, nil), c.opts...).ServeV1(context.Background(), ev)
				if resp.StatusCode != c.status {
					t.Fatalf("got status %d, want %d (%s)", resp.StatusCode, c.status, resp.Body)
				}
				if c.status != 200 {
					if got.Tenant != "(not served)" {
						t.Error("the handler was called")
					}
					if !strings.Contains(resp.Body, `"code":"forbidden"`) {
						t.Errorf("got body %s", resp.Body)
					}
					return
				}
				if got.Tenant != c.want {
					t.Errorf("got tenant %q, want %q", got.Tenant, c.want)
				}
			})
		}
	})
	t.Run("Malformed", func(t *testing.T) {
		for name, ev := range map[string]*events.APIGatewayProxyRequest{
			"no method":  {Path: "/items"},
			"bad method": {HTTPMethod: "G T", Path: "/items"},
			"bad base64": {HTTPMethod: "POST", Path: "/items", Body: "!!!", IsBase64Encoded: true},
		} {
			called := false
			resp := awsevent.New(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { called = true })).
				ServeV1(context.Background(), ev)
			if resp.StatusCode != 400 || called || !strings.Contains(resp.Body, `"code":"invalid"`) {
				t.Errorf("%s: got %d %s (handler called: %v), want 400 invalid", name, resp.StatusCode, resp.Body, called)
			}
		}
	})
	t.Run("ErrorBody", func(t *testing.T) {
		ev := &events.APIGatewayProxyRequest{HTTPMethod: "POST", Path: "/items", Body: "!!!", IsBase64Encoded: true}
		resp := awsevent.New(http.NotFoundHandler()).ServeV1(context.Background(), ev)
		if resp.StatusCode != 400 || !strings.HasPrefix(resp.Body, `{"code":"invalid","message":`) ||
			resp.Headers["Content-Type"] != "application/json" || resp.Headers["Content-Length"] != strconv.Itoa(len(resp.Body)) {
			t.Errorf("got %d %v %s, want the contract's error answer", resp.StatusCode, resp.Headers, resp.Body)
		}
	})
}

func TestRequestFromV2(t *testing.T) {
	t.Run("AWSFixture", func(t *testing.T) {
		ev := readFixture[events.APIGatewayV2HTTPRequest](t, "aws-apigw-v2-request.json")
		ev.RequestContext.Authorizer.Lambda["tenant"] = "acme"
		var got seen
		resp := awsevent.New(recorder(&got, []string{"proxy"}, nil)).ServeV2(context.Background(), ev)
		if resp.StatusCode != 200 {
			t.Fatalf("got status %d", resp.StatusCode)
		}
		want := seen{Method: "GET", Path: "/my/path", RawQuery: "parameter1=value1&parameter1=value2&parameter2=value",
			RequestURI: "/my/path?parameter1=value1&parameter1=value2&parameter2=value",
			Host:       "id.execute-api.us-east-1.amazonaws.com", RemoteAddr: "IP:0", Proto: "HTTP/1.1",
			Body: "{\r\n\t\"a\": 1\r\n}", ContentLength: 13, Tenant: "acme",
			Info:       awsevent.Info{Kind: awsevent.KindV2, RequestID: "id", Stage: "$default", Route: "$default", Tenant: "acme"},
			PathValues: map[string]string{"proxy": "hello/world"}}
		hdr := got.Header
		got.Header = nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got  %+v\nwant %+v", got, want)
		}
		if c := hdr.Get("Cookie"); c != "cookie1; cookie2" {
			t.Errorf("got Cookie %q", c)
		}
		if v := hdr.Get("Header1"); v != "value1" {
			t.Errorf("got Header1 %q", v)
		}
	})
	t.Run("FunctionURLFixture", func(t *testing.T) {
		ev := readFixture[events.LambdaFunctionURLRequest](t, "aws-function-url-request.json")
		var got seen
		resp := awsevent.New(recorder(&got, nil, nil)).ServeFunctionURL(context.Background(), ev)
		if resp.StatusCode != 200 {
			t.Fatalf("got status %d", resp.StatusCode)
		}
		if got.Method != "POST" || got.Path != "/my/path" || got.Body != "Hello from client!" ||
			got.RemoteAddr != "123.123.123.123:0" || got.Host != "<url-id>.lambda-url.us-west-2.on.aws" ||
			got.Tenant != items.DefaultTenant || got.Info.Kind != awsevent.KindFunctionURL || got.Info.RequestID != "id" {
			t.Errorf("got %+v", got)
		}
		if v := got.Header.Get("Header2"); v != "value1,value2" {
			t.Errorf("got Header2 %q", v)
		}
	})
	t.Run("Stage", func(t *testing.T) {
		cases := []struct {
			stage, rawPath, want string
			keep                 bool
		}{
			{"prod", "/prod/items/a", "/items/a", false},
			{"prod", "/prod", "/", false},
			{"prod", "/prodx/items", "/prodx/items", false},
			{"$default", "/items", "/items", false},
			{"prod", "/prod/items", "/prod/items", true},
		}
		for _, c := range cases {
			ev := &events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: c.rawPath}
			ev.RequestContext.HTTP.Method = "GET"
			ev.RequestContext.Stage = c.stage
			var got seen
			awsevent.New(recorder(&got, nil, nil), awsevent.WithKeepStage(c.keep)).ServeV2(context.Background(), ev)
			if got.Path != c.want {
				t.Errorf("stage %q path %q keep %v: got %q, want %q", c.stage, c.rawPath, c.keep, got.Path, c.want)
			}
		}
	})
	t.Run("EscapedPath", func(t *testing.T) {
		ev := &events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/items/a%2Fb", RawQueryString: "x=%26"}
		ev.RequestContext.HTTP.Method = "GET"
		var got seen
		awsevent.New(recorder(&got, nil, nil)).ServeV2(context.Background(), ev)
		if got.Path != "/items/a/b" || got.RawPath != "/items/a%2Fb" || got.RequestURI != "/items/a%2Fb?x=%26" {
			t.Errorf("got path %q raw %q uri %q", got.Path, got.RawPath, got.RequestURI)
		}
	})
	t.Run("Base64AndQueryMap", func(t *testing.T) {
		ev := &events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: "/items",
			QueryStringParameters: map[string]string{"limit": "5"},
			Body:                  base64.StdEncoding.EncodeToString([]byte(`{"a":1}`)), IsBase64Encoded: true}
		ev.RequestContext.HTTP.Method = "POST"
		var got seen
		awsevent.New(recorder(&got, nil, nil)).ServeV2(context.Background(), ev)
		if got.Body != `{"a":1}` || got.RawQuery != "limit=5" {
			t.Errorf("got body %q query %q", got.Body, got.RawQuery)
		}
	})
}

func TestResponse(t *testing.T) {
	ev := &events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/items/a"}
	ctx := context.Background()
	serve := func(h http.HandlerFunc) (*events.APIGatewayProxyResponse, *events.APIGatewayV2HTTPResponse, *events.LambdaFunctionURLResponse) {
		a := awsevent.New(h)
		v2 := &events.APIGatewayV2HTTPRequest{Version: "2.0", RawPath: ev.Path}
		v2.RequestContext.HTTP.Method = ev.HTTPMethod
		url := &events.LambdaFunctionURLRequest{Version: "2.0", RawPath: ev.Path}
		url.RequestContext.HTTP.Method = ev.HTTPMethod
		return a.ServeV1(ctx, ev), a.ServeV2(ctx, v2), a.ServeFunctionURL(ctx, url)
	}
	t.Run("HeadersAndCookies", func(t *testing.T) {
		v1, v2, url := serve(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("Content-Type", "application/json")
			h.Set("ETag", `"r1"`)
			h.Add("Vary", "Accept")
			h.Add("Vary", "X-Api-Key")
			h.Add("Set-Cookie", "a=1; Path=/")
			h.Add("Set-Cookie", "b=2")
			w.WriteHeader(201)
			h.Set("X-After", "ignored") // as net/http, too late
			w.Write([]byte(`{"id":"a"}`))
		})
		if v1.StatusCode != 201 || v1.Body != `{"id":"a"}` || v1.IsBase64Encoded {
			t.Errorf("v1: got %d %q %v", v1.StatusCode, v1.Body, v1.IsBase64Encoded)
		}
		wantSingle := map[string]string{"Content-Type": "application/json", "Etag": `"r1"`}
		wantMulti := map[string][]string{"Vary": {"Accept", "X-Api-Key"}, "Set-Cookie": {"a=1; Path=/", "b=2"}}
		if !reflect.DeepEqual(v1.Headers, wantSingle) || !reflect.DeepEqual(v1.MultiValueHeaders, wantMulti) {
			t.Errorf("v1: got headers %v multi %v", v1.Headers, v1.MultiValueHeaders)
		}
		wantV2 := map[string]string{"Content-Type": "application/json", "Etag": `"r1"`, "Vary": "Accept,X-Api-Key"}
		wantCookies := []string{"a=1; Path=/", "b=2"}
		if v2.StatusCode != 201 || !reflect.DeepEqual(v2.Headers, wantV2) || !reflect.DeepEqual(v2.Cookies, wantCookies) || v2.Body != `{"id":"a"}` {
			t.Errorf("v2: got %+v", v2)
		}
		if url.StatusCode != 201 || !reflect.DeepEqual(url.Headers, wantV2) || !reflect.DeepEqual(url.Cookies, wantCookies) {
			t.Errorf("function URL: got %+v", url)
		}
	})
	t.Run("Binary", func(t *testing.T) {
		bin := []byte{0x89, 'P', 'N', 'G', 0, 0xff}
		v1, v2, url := serve(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "image/png")
			w.Write(bin)
		})
		want := base64.StdEncoding.EncodeToString(bin)
		if v1.Body != want || !v1.IsBase64Encoded || v2.Body != want || !v2.IsBase64Encoded || url.Body != want || !url.IsBase64Encoded {
			t.Errorf("got v1 %q %v, v2 %q %v, url %q %v", v1.Body, v1.IsBase64Encoded, v2.Body, v2.IsBase64Encoded, url.Body, url.IsBase64Encoded)
		}
	})
	t.Run("TextThatIsNotUTF8", func(t *testing.T) {
		v1, _, _ := serve(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=latin1")
			w.Write([]byte("caf\xe9"))
		})
		if !v1.IsBase64Encoded || v1.Body != base64.StdEncoding.EncodeToString([]byte("caf\xe9")) {
			t.Errorf("got %q %v, want base64", v1.Body, v1.IsBase64Encoded)
		}
	})
	t.Run("Sniffed", func(t *testing.T) {
		v1, _, _ := serve(func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("<html><body>hi</body></html>"))
		})
		if v1.StatusCode != 200 || v1.Headers["Content-Type"] != "text/html; charset=utf-8" || v1.IsBase64Encoded {
			t.Errorf("got %d %v %v", v1.StatusCode, v1.Headers, v1.IsBase64Encoded)
		}
		v1, _, _ = serve(func(w http.ResponseWriter, r *http.Request) {
			w.Header()["Content-Type"] = nil // asks for no Content-Type
			w.Write([]byte("hi"))
		})
		if _, ok := v1.Headers["Content-Type"]; ok || !v1.IsBase64Encoded {
			t.Errorf("got %v %v, want no Content-Type and a base64 body", v1.Headers, v1.IsBase64Encoded)
		}
	})
	t.Run("NoBody", func(t *testing.T) {
		for _, status := range []int{204, 304} {
			v1, v2, _ := serve(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				w.Write([]byte("dropped"))
			})
			if v1.StatusCode != status || v1.Body != "" || v2.Body != "" {
				t.Errorf("%d: got %d %q %q", status, v1.StatusCode, v1.Body, v2.Body)
			}
		}
		v1, _, _ := serve(func(w http.ResponseWriter, r *http.Request) {})
		if v1.StatusCode != 200 || v1.Body != "" || v1.Headers != nil {
			t.Errorf("empty handler: got %+v", v1)
		}
	})
	t.Run("Head", func(t *testing.T) {
		a := awsevent.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"a":1}`))
		}))
		resp := a.ServeV1(ctx, &events.APIGatewayProxyRequest{HTTPMethod: "HEAD", Path: "/items/a"})
		if resp.StatusCode != 200 || resp.Body != "" || resp.Headers["Content-Type"] != "application/json" {
			t.Errorf("got %+v", resp)
		}
	})
	t.Run("PooledWritersDoNotLeak", func(t *testing.T) {
		a := awsevent.New(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/a" {
				w.Header().Set("X-A", "1")
				w.WriteHeader(201)
				w.Write([]byte("aaaa"))
			}
		}))
		first := a.ServeV1(ctx, &events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/a"})
		second := a.ServeV1(ctx, &events.APIGatewayProxyRequest{HTTPMethod: "GET", Path: "/b"})
		if first.Body != "aaaa" || second.StatusCode != 200 || second.Body != "" || second.Headers["X-A"] != "" {
			t.Errorf("got first %+v second %+v", first, second)
		}
	})
}

func TestIsText(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/json":                  true,
		"application/json; charset=utf-8":   true,
		"Application/JSON":                  true,
		"application/merge-patch+json":      true,
		"application/problem+json":          true,
		"text/html; charset=utf-8":          true,
		"TEXT/PLAIN":                        true,
		"image/svg+xml":                     true,
		"application/x-www-form-urlencoded": true,
		"":                                  false,
		"image/png":                         false,
		"application/octet-stream":          false,
		"application/jsonx":                 false,
		"text":                              false,
		"+json":                             false,
	} {
		if got := awsevent.IsText(ct); got != want {
			t.Errorf("IsText(%q) = %v, want %v", ct, got, want)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, c := range []struct {
		payload string
		want    awsevent.Kind
	}{
		{`{"resource":"/","path":"/","httpMethod":"GET"}`, awsevent.KindV1},
		{`{"version":"1.0","resource":"/","httpMethod":"GET"}`, awsevent.KindV1},
		{`{"version":"2.0","routeKey":"$default","rawPath":"/"}`, awsevent.KindV2},
		{`{"rawPath":"/","body":"{\"version\":\"2.0\"}","version":"2.0"}`, awsevent.KindV2},
		{`{"operation":"ping"}`, awsevent.KindUnknown},
		{`{"operation":"echo","payload":{"httpMethod":"GET"}}`, awsevent.KindUnknown},
		{`{"version":"1.0","rawPath":"/"}`, awsevent.KindUnknown},
		{`{"httpMethod":5}`, awsevent.KindUnknown},
		{`{"version":2,"rawPath":"/"}`, awsevent.KindUnknown},
		{`[{"httpMethod":"GET"}]`, awsevent.KindUnknown},
		{`"httpMethod"`, awsevent.KindUnknown},
		{``, awsevent.KindUnknown},
		{`{"a":`, awsevent.KindUnknown},
	} {
		if got := awsevent.Detect([]byte(c.payload)); got != c.want {
			t.Errorf("Detect(%s) = %v, want %v", c.payload, got, c.want)
		}
	}
	for _, f := range []struct {
		name string
		want awsevent.Kind
	}{{"aws-apigw-v1-request.json", awsevent.KindV1}, {"aws-apigw-v2-request.json", awsevent.KindV2}, {"aws-function-url-request.json", awsevent.KindV2}} {
		b, err := os.ReadFile("testdata/" + f.name)
		if err != nil {
			t.Fatal(err)
		}
		if got := awsevent.Detect(b); got != f.want {
			t.Errorf("Detect(%s) = %v, want %v", f.name, got, f.want)
		}
	}
}

func TestInvoke(t *testing.T) {
	var got seen
	h := recorder(&got, nil, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.Write([]byte(`{"ok":true}`))
	})
	ctx := context.Background()
	read := func(name string) []byte {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	t.Run("Kinds", func(t *testing.T) {
		a := awsevent.New(h)
		for _, c := range []struct {
			fixture string
			kind    awsevent.Kind
			// v1 answers have multiValueHeaders (Set-Cookie among them);
			// v2 and function URL answers have cookies instead.
			v1 bool
		}{
			{"aws-apigw-v1-request.json", awsevent.KindV1, true},
			{"aws-apigw-v2-request.json", awsevent.KindV2, false},
			{"aws-function-url-request.json", awsevent.KindFunctionURL, false},
		} {
			out, err := a.Invoke(ctx, read(c.fixture))
			if err != nil {
				t.Fatalf("%s: %v", c.fixture, err)
			}
			var resp map[string]any
			if err := json.Unmarshal(out, &resp); err != nil {
				t.Fatalf("%s: %s: %v", c.fixture, out, err)
			}
			if got.Info.Kind != c.kind || resp["statusCode"] != float64(200) || resp["body"] != `{"ok":true}` {
				t.Errorf("%s: served as %v, answered %s", c.fixture, got.Info.Kind, out)
			}
			multi := resp["multiValueHeaders"] != nil
			cookies, _ := resp["cookies"].([]any)
			if c.v1 != multi || (!c.v1 && len(cookies) != 2) {
				t.Errorf("%s: got %s, want the %v response shape", c.fixture, out, c.kind)
			}
		}
	})
	t.Run("Direct", func(t *testing.T) {
		if _, err := awsevent.New(h).Invoke(ctx, []byte(`{"operation":"ping"}`)); err == nil {
			t.Error("a direct payload without WithDirect: got no error")
		}
		var direct []byte
		a := awsevent.New(h, awsevent.WithDirect(func(_ context.Context, p []byte) ([]byte, error) {
			direct = p
			return []byte(`"pong"`), nil
		}))
		out, err := a.Invoke(ctx, []byte(`{"operation":"ping"}`))
		if err != nil || string(out) != `"pong"` || string(direct) != `{"operation":"ping"}` {
			t.Errorf("got %s, %v (direct saw %s)", out, err, direct)
		}
	})
	t.Run("DecodeErrors", func(t *testing.T) {
		a := awsevent.New(h)
		for _, p := range []string{`{"httpMethod":"GET","headers":5}`, `{"version":"2.0","rawPath":"/","cookies":"x"}`} {
			if _, err := a.Invoke(ctx, []byte(p)); err == nil {
				t.Errorf("%s: got no error", p)
			}
		}
	})
}
