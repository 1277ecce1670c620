package dynamo

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
)

// DefaultRegion is the region used when neither the URL nor the SDK's
// configuration chain (AWS_REGION, the shared config file) names one.
const DefaultRegion = "us-east-1"

// maxIdleConns is how many idle connections to DynamoDB the client keeps:
// a server answering many requests at once would otherwise open and close
// TLS connections under load (the SDK keeps 10 per host by default).
const maxIdleConns = 256

// NewClient returns a DynamoDB client for the store URL u: the SDK's
// default configuration chain (environment, shared files, and on AWS the
// role's credentials), with the region and endpoint of u. With an endpoint and no
// credentials configured anywhere it signs with static dummy credentials,
// as local engines accept any; and it never asks the EC2 instance metadata
// service, which a local engine's user does not have.
func NewClient(ctx context.Context, u *store.URL) (*dynamodb.Client, error) {
	loadOpts := []func(*awsconfig.LoadOptions) error{
		awsconfig.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConns = maxIdleConns
			t.MaxIdleConnsPerHost = maxIdleConns
		})),
	}
	if u.Region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(u.Region))
	}
	if u.Endpoint != "" {
		loadOpts = append(loadOpts, awsconfig.WithEC2IMDSClientEnableState(imds.ClientDisabled))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("dynamo: load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	if u.Endpoint != "" {
		if cfg.Credentials == nil {
			cfg.Credentials = dummyCredentials()
		} else if _, err := cfg.Credentials.Retrieve(ctx); err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("dynamo: retrieve credentials: %w", ctx.Err())
			}
			cfg.Credentials = dummyCredentials()
		}
	}
	return dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) {
		if u.Endpoint != "" {
			o.BaseEndpoint = aws.String(u.Endpoint)
		}
	}), nil
}

// dummyCredentials are letters only: DynamoDB Local refuses access key ids
// with other characters.
func dummyCredentials() aws.CredentialsProvider {
	return credentials.NewStaticCredentialsProvider("surgelocal", "surgelocal", "")
}

// Backend is the store.Backend of DynamoDB stores, opened with opts (and
// strongly consistent reads where the URL asks for them). It sends
// nothing to DynamoDB; Ping checks that the table is there.
func Backend(opts ...Option) store.Backend {
	return store.Backend{Scheme: store.SchemeDynamoDB, Form: "dynamodb://TABLE",
		Open: func(ctx context.Context, u *store.URL) (items.Store, error) {
			s, err := Open(ctx, u, opts...)
			if err != nil {
				return nil, fmt.Errorf("open store %q: %w", u.String(), err)
			}
			return s, nil
		}}
}

// Open opens the store of the DynamoDB URL u with opts. It sends nothing
// to DynamoDB; Ping checks that the table is there.
func Open(ctx context.Context, u *store.URL, opts ...Option) (*Store, error) {
	client, err := NewClient(ctx, u)
	if err != nil {
		return nil, err
	}
	if u.Consistent {
		opts = append([]Option{WithConsistentReads(true)}, opts...)
	}
	return New(client, u.Table, opts...), nil
}
