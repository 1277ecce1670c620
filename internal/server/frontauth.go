package server

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"os"
	"strings"

	"github.com/surgehq/surge/internal/local/lambda"
)

// frontAccessKey is the access key id of the credentials surge gives its
// function instances for the table's front, when its own environment has
// none: letters only, as DynamoDB Local wants.
const frontAccessKey = "surgelocal"

// frontCredentials are what the table's front accepts: requests signed
// (AWS Signature Version 4) with the secret access key that surge gave
// the function instances in their environment. That is a secret made for
// the run, or, when surge's own environment holds AWS credentials (which
// the instances are given as their role's, for the AWS services they may
// call), those credentials' secret key too.
type frontCredentials struct {
	secrets []string
	// env is what the instances' environment gets (none when surge's
	// own credentials are passed on to them).
	env []string
}

// newFrontCredentials makes the run's secret for a table front.
func newFrontCredentials() frontCredentials {
	var b [24]byte
	_, _ = rand.Read(b[:])
	run := hex.EncodeToString(b[:])
	c := frontCredentials{secrets: []string{run}}
	if _, ok := os.LookupEnv("AWS_ACCESS_KEY_ID"); ok {
		if own := os.Getenv("AWS_SECRET_ACCESS_KEY"); own != "" {
			c.secrets = append(c.secrets, own)
		}
		return c
	}
	c.env = []string{"AWS_ACCESS_KEY_ID=" + frontAccessKey, "AWS_SECRET_ACCESS_KEY=" + run}
	return c
}

// guard returns the front h behind the check of each request's
// signature; anything else is refused as DynamoDB refuses it (400,
// UnrecognizedClientException or InvalidSignatureException).
func (c frontCredentials) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
			dynamoError(w, "UnrecognizedClientException",
				"The security token included in the request is invalid: the table's front takes requests signed with the credentials surge gives its function instances.")
			return
		}
		msg := ""
		for _, s := range c.secrets {
			ok, why := lambda.VerifySigV4(r, s, FrontMaxBody)
			if ok {
				h.ServeHTTP(w, r)
				return
			}
			msg = why
		}
		dynamoError(w, "InvalidSignatureException", msg)
	})
}

// dynamoError answers as DynamoDB answers a request it refuses.
func dynamoError(w http.ResponseWriter, typ, msg string) {
	b, _ := json.Marshal(map[string]string{"__type": "com.amazonaws.dynamodb.v20120810#" + typ, "message": msg})
	w.Header().Set("Content-Type", "application/x-amz-json-1.0")
	w.Header().Set("X-Amzn-Errortype", typ)
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(b)
}
