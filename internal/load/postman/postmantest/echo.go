package postmantest

import (
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Echo is a stand-in for Postman Echo (postman-echo.com), the service
// Postman's sample collection calls: it answers what it was sent, as JSON,
// for the endpoints of the collection's folders that the tests run: basic auth,
// headers, the methods with their bodies, and the utilities.
func Echo() http.Handler {
	mux := http.NewServeMux()
	headers := func(r *http.Request) map[string]string {
		h := map[string]string{"host": r.Host}
		for k, v := range r.Header {
			h[strings.ToLower(k)] = strings.Join(v, ", ")
		}
		return h
	}
	args := func(r *http.Request) map[string]string {
		a := map[string]string{}
		for k, v := range r.URL.Query() {
			a[k] = strings.Join(v, ",")
		}
		return a
	}
	fullURL := func(r *http.Request) string { return "https://" + r.Host + r.URL.RequestURI() }
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		json.NewEncoder(w).Encode(v)
	}
	mux.HandleFunc("GET /get", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"args": args(r), "headers": headers(r), "url": fullURL(r)})
	})
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		mux.HandleFunc(m+" /"+strings.ToLower(m), func(w http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			res := map[string]any{"args": args(r), "data": "", "files": map[string]any{}, "form": map[string]any{},
				"headers": headers(r), "json": nil, "url": fullURL(r)}
			ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
			switch ct {
			case "application/x-www-form-urlencoded":
				form := map[string]any{}
				vals, _ := url.ParseQuery(string(body))
				for k, v := range vals {
					form[k] = strings.Join(v, ",")
				}
				res["form"] = form
			case "application/json":
				var j any
				if json.Unmarshal(body, &j) == nil {
					res["json"] = j
				}
				res["data"] = string(body)
			default:
				res["data"] = string(body)
			}
			reply(w, res)
		})
	}
	mux.HandleFunc("GET /basic-auth", func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "postman" || p != "password" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, "Unauthorized")
			return
		}
		reply(w, map[string]any{"authenticated": true})
	})
	mux.HandleFunc("GET /headers", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"headers": headers(r)})
	})
	mux.HandleFunc("GET /response-headers", func(w http.ResponseWriter, r *http.Request) {
		out := map[string]any{}
		for k, v := range r.URL.Query() {
			w.Header()[k] = v
			out[k] = v[0]
		}
		json.NewEncoder(w).Encode(out)
	})
	mux.HandleFunc("GET /status/{code}", func(w http.ResponseWriter, r *http.Request) {
		code, err := strconv.Atoi(r.PathValue("code"))
		if err != nil || code < 100 || code > 599 {
			code = http.StatusBadRequest
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(code)
		json.NewEncoder(w).Encode(map[string]any{"status": code})
	})
	mux.HandleFunc("GET /stream/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		for i := range min(n, 100) {
			fmt.Fprintf(w, `{"id":%d,"url":%q}`+"\n", i, fullURL(r))
		}
	})
	// Postman Echo waits; the stand-in answers at once, as the check only
	// reads the body.
	mux.HandleFunc("GET /delay/{n}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"delay": r.PathValue("n")})
	})
	mux.HandleFunc("GET /encoding/utf8", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, "<h1>Unicode Demo</h1><p>∮ E⋅da = Q, ▲ ᚻᛖ ᚳᚹᚫᚦ</p>")
	})
	mux.HandleFunc("GET /gzip", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		json.NewEncoder(zw).Encode(map[string]any{"gzipped": true, "headers": headers(r), "method": r.Method})
		zw.Close()
	})
	// Served deflated only to a client that asks for it, as HTTP allows.
	mux.HandleFunc("GET /deflate", func(w http.ResponseWriter, r *http.Request) {
		reply(w, map[string]any{"deflated": true, "headers": headers(r), "method": r.Method})
	})
	return mux
}
