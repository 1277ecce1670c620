package lambda

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// maxSigningSkew is how far a signed request's X-Amz-Date may be from the
// server's clock, as AWS allows.
const maxSigningSkew = 15 * time.Minute

// InvokeAuth returns the Invoke API h behind a check that each request
// carries the run's token: "Authorization: Bearer TOKEN" (curl, surge's
// own clients), or an AWS Signature Version 4 made with TOKEN as the
// secret access key (any access key id), which is what an AWS SDK or CLI
// pointed at the endpoint sends once its secret key is set to the token.
// Anything else is refused as AWS refuses it: 403, UnrecognizedClient or
// InvalidSignature. The comparisons are constant-time.
func InvokeAuth(token string, h http.Handler) http.Handler {
	bearer := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		switch {
		case strings.HasPrefix(auth, "Bearer "):
			if subtle.ConstantTimeCompare([]byte(auth), bearer) == 1 {
				h.ServeHTTP(w, r)
				return
			}
		case strings.HasPrefix(auth, "AWS4-HMAC-SHA256 "):
			ok, msg := verifySigV4(r, token)
			if ok {
				h.ServeHTTP(w, r)
				return
			}
			apiError(w, http.StatusForbidden, "InvalidSignatureException", msg, nil)
			return
		}
		apiError(w, http.StatusForbidden, "UnrecognizedClientException",
			"The security token included in the request is invalid: the Invoke API takes the run's token (Authorization: Bearer TOKEN, or requests signed with TOKEN as the secret access key).", nil)
	})
}

// sigV4 is the parsed Authorization header of a signed request.
type sigV4 struct {
	accessKey, date, region, service string
	signedHeaders                    []string
	signature                        string
}

func parseSigV4(auth string) (sigV4, bool) {
	var s sigV4
	rest, ok := strings.CutPrefix(auth, "AWS4-HMAC-SHA256 ")
	if !ok {
		return s, false
	}
	for _, part := range strings.Split(rest, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		if !ok {
			return s, false
		}
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return s, false
			}
			s.accessKey, s.date, s.region, s.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			s.signedHeaders = strings.Split(v, ";")
		case "Signature":
			s.signature = v
		}
	}
	return s, s.accessKey != "" && s.signature != "" && len(s.signedHeaders) > 0
}

// verifySigV4 checks a request's signature by signing it again, as the
// client did, with the token as the secret key: the same method, path,
// query, signed headers and body give the same signature only with the
// same key. The body is read (up to Lambda's payload limit) and put back.
func verifySigV4(r *http.Request, token string) (bool, string) {
	return VerifySigV4(r, token, MaxPayload)
}

// VerifySigV4 reports whether r carries an AWS Signature Version 4 made
// with secret as the secret access key, and if not, why, as AWS would say
// it. Up to maxBody bytes of the body are read, hashed and put back. The
// signatures are compared in constant time.
func VerifySigV4(r *http.Request, secret string, maxBody int64) (bool, string) {
	const bad = "The request signature we calculated does not match the signature you provided: sign with the run's token as the secret access key."
	sig, ok := parseSigV4(r.Header.Get("Authorization"))
	if !ok {
		return false, "The Authorization header is not an AWS Signature Version 4."
	}
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil || !strings.HasPrefix(r.Header.Get("X-Amz-Date"), sig.date) {
		return false, "The request has no valid X-Amz-Date."
	}
	if d := time.Since(at); d > maxSigningSkew || d < -maxSigningSkew {
		return false, "Signature expired: the request's X-Amz-Date is over 15 minutes from the server's time."
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return false, "The request body could not be read."
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h != "" && h != "UNSIGNED-PAYLOAD" && h != payloadHash {
		return false, bad
	}
	again, err := http.NewRequestWithContext(context.Background(), r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		return false, bad
	}
	again.Host = r.Host
	// The Go SDK's signer signs Content-Length whenever it is known;
	// other SDKs (botocore) do not: it is given only if the client
	// signed it.
	again.ContentLength = 0
	for _, name := range sig.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			again.ContentLength = r.ContentLength
			if again.ContentLength <= 0 {
				again.ContentLength = int64(len(body))
			}
		default:
			if vs, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
				again.Header[http.CanonicalHeaderKey(name)] = vs
			}
		}
	}
	creds := aws.Credentials{AccessKeyID: sig.accessKey, SecretAccessKey: secret, SessionToken: r.Header.Get("X-Amz-Security-Token")}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, again, payloadHash, sig.service, sig.region, at); err != nil {
		return false, bad
	}
	want, ok := parseSigV4(again.Header.Get("Authorization"))
	if !ok || subtle.ConstantTimeCompare([]byte(want.signature), []byte(sig.signature)) != 1 {
		return false, bad
	}
	return true, ""
}
