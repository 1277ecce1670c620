// Command hello-lambda is the smallest Go function on aws-lambda-go: it
// answers every API Gateway event 200 with a fixed body, and does nothing
// at init. Built as the Lambda bootstrap is (bench/pool-lib.sh), its cold
// start is the floor of a Go function's on this machine, which
// bench/pool-coldstart.sh sets beside the bootstrap's and `surge
// function`'s.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"status":"ok"}`,
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	})
}
