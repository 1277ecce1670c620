// Command hello-dynamodb is hello-lambda with a DynamoDB client: at init it
// loads the AWS SDK's configuration and makes a client, as any Go function
// that uses DynamoDB does, and sends nothing; every API Gateway event gets
// 200 with a fixed body. Built as the Lambda bootstrap is, its cold start
// is the floor of a Go function on DynamoDB, which bench/pool-coldstart.sh
// sets beside hello-lambda's and the bootstrap's: the difference between
// the two hellos is the SDK's own initialisers.
package main

import (
	"context"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

var client *dynamodb.Client

func main() {
	cfg, err := config.LoadDefaultConfig(context.Background())
	if err != nil {
		panic(err)
	}
	client = dynamodb.NewFromConfig(cfg)
	lambda.Start(func(context.Context, events.APIGatewayProxyRequest) (events.APIGatewayProxyResponse, error) {
		return events.APIGatewayProxyResponse{StatusCode: 200, Body: `{"status":"ok"}`,
			Headers: map[string]string{"Content-Type": "application/json"}}, nil
	})
}
