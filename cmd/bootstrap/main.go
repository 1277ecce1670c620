// Command bootstrap is surge's AWS Lambda function: the items service of
// `surge serve` (package itemsapi over the DynamoDB store) behind API
// Gateway, built for the provided.al2023 runtime as an executable named
// bootstrap (deploy/aws/build.sh; deploy/aws/template.yaml deploys it).
// The function itself is package function, which `surge function` runs
// too (as a local function instance); this program adds the store it
// opens, DynamoDB's.
//
// It answers three kinds of event, told apart by one look at the raw
// payload: API Gateway REST API (v1 proxy) events, HTTP API (payload 2.0)
// and function URL events, through package awsevent; and direct invocations
// with the original application's event {"operation", "tableName",
// "payload"}, answered through itemsapi's dispatcher as the original
// Python function answered them: {"statusCode", "headers", "body"}.
//
// Everything that can be built before the first event is built once at
// init, outside the handler: the configuration, the AWS SDK's
// configuration and DynamoDB client, the store and the HTTP handler. Init
// sends nothing over the network, so a cold start pays for no round trip.
// An init failure is posted to the Runtime API's init error path before
// the process exits, so the invocation that waited for it carries the
// cause.
//
// Configuration, from the environment:
//
//	SURGE_TABLE                  DynamoDB table, and the only tableName /ops accepts (default items)
//	SURGE_DYNAMODB_ENDPOINT      DynamoDB API endpoint instead of AWS's (DynamoDB Local, dynalite)
//	SURGE_REGION                 region (default AWS_REGION, which Lambda sets)
//	SURGE_CONSISTENT_READS       true: strongly consistent reads (default false)
//	SURGE_DYNAMODB_MAX_ATTEMPTS  tries of a throttled DynamoDB call before a 503 (default the store's)
//	SURGE_LOG_LEVEL              debug, info, warn or error (default AWS_LAMBDA_LOG_LEVEL, else info)
//	SURGE_CACHE_CONTROL          Cache-Control of GET /items/{id} (default no-cache)
//	SURGE_TENANT_FROM_API_KEY    true: a REST request without an authorizer tenant is its API key's tenant
//	SURGE_DIRECT_TENANT          tenant of direct invocations (default default)
//	SURGE_DAX_ENDPOINT           a DAX cluster's endpoint; reported only, this build has no DAX client
//
// Credentials come from the SDK's default chain: on Lambda, the function
// role's. Logs are JSON lines on standard output (CloudWatch Logs), one
// per request, each with the AWS request id (aws_request_id).
//
// It links no SQLite and no load tester (a test checks its dependency
// list), so that the binary stays small and its init short.
package main

import (
	"os"

	"github.com/surgehq/surge/internal/function"
)

// main runs the function over the DynamoDB store that the environment
// names (SURGE_STORE is not read: on Lambda the store is always DynamoDB).
func main() {
	if err := function.Run(function.OpenDynamo); err != nil {
		os.Exit(1) // Run logged the error and reported it to the Runtime API
	}
}
