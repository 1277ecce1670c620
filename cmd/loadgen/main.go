// Command loadgen is surge's load generator as an AWS Lambda function: it
// runs one part of a split load plan (`surge load --shards N --on
// lambda://FUNCTION`) and answers with the part's result, which the
// coordinator merges with the other parts' (package shard has the event,
// the handler and the answer; deploy/aws/loadgen deploys it, built for
// arm64 by deploy/aws/build.sh).
//
// A result too large for Lambda's 6 MB response goes, gzipped, to the
// results bucket (aws-sdk-go-v2's S3 client), and the answer carries a
// presigned URL that reads it for an hour: the coordinator fetches it
// over HTTPS, with no S3 client and no permission on the bucket.
//
// Configuration, from the environment:
//
//	SURGE_RESULTS_BUCKET       the bucket for results too large for a response (the template sets it)
//	SURGE_S3_ENDPOINT          an S3-API endpoint instead of AWS's (a local stand-in)
//	SURGE_RESULTS_INLINE_MAX   the largest result answered in the response, in bytes (default 6 MB less 4 KB)
//	SURGE_REGION               the bucket's region (default AWS_REGION, which Lambda sets)
//
// It links the load engine and nothing of the service: no SQLite, no
// Prometheus, no server (a test checks its dependency list), so that its
// binary stays small and a cold start short. Its init reads the
// environment and sends nothing over the network.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	log := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	h, err := handler(context.Background(), os.Getenv, log)
	if err != nil {
		// An exit during init: Lambda fails the waiting invocation with
		// Runtime.ExitError, and this line is in its log.
		fmt.Fprintf(os.Stderr, `{"level":"ERROR","msg":"configuration","err":%q}`+"\n", err.Error())
		os.Exit(1)
	}
	lambda.Start(h.Handle)
}
