package dynamo

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// Scheme is the URL scheme of a DynamoDB store.
const Scheme = "dynamodb"

// DefaultRegion is the region used when neither the URL nor the SDK's
// configuration chain (AWS_REGION, the shared config file) names one.
const DefaultRegion = "us-east-1"

// URL is a parsed store URL:
//
//	dynamodb://TABLE?endpoint=URL&region=R&consistent=true
//
// endpoint is optional (DynamoDB on AWS by default), as are region and
// consistent (strongly consistent reads for every read).
type URL struct {
	Table      string
	Endpoint   string
	Region     string
	Consistent bool
}

// validTableName reports whether name is a DynamoDB table name: 3 to 255
// letters, digits, '_', '.' and '-'. (A loop rather than a regexp: a
// package-level regexp is compiled at every Lambda cold start.)
func validTableName(name string) bool {
	if len(name) < 3 || len(name) > 255 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// ParseURL parses a store URL. Unknown parameters are errors, so that a
// misspelt one is not silently ignored.
func ParseURL(raw string) (*URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("dynamo: store URL: %w", err)
	}
	if u.Scheme != Scheme {
		return nil, fmt.Errorf("dynamo: store URL %q: the scheme must be %s://", clip(raw), Scheme)
	}
	if u.User != nil || u.Port() != "" || (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return nil, fmt.Errorf("dynamo: store URL %q: expected dynamodb://TABLE?endpoint=URL&region=R&consistent=true", clip(raw))
	}
	out := &URL{Table: u.Hostname()}
	if !validTableName(out.Table) {
		return nil, fmt.Errorf("dynamo: store URL %q: a table name is 3 to 255 letters, digits, '_', '-' and '.'", clip(raw))
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("dynamo: store URL %q: %w", clip(raw), err)
	}
	for name, vs := range q {
		if len(vs) != 1 {
			return nil, fmt.Errorf("dynamo: store URL %q: parameter %q given %d times", clip(raw), name, len(vs))
		}
		v := vs[0]
		switch name {
		case "endpoint":
			e, err := url.Parse(v)
			if err != nil || (e.Scheme != "http" && e.Scheme != "https") || e.Host == "" {
				return nil, fmt.Errorf("dynamo: store URL %q: endpoint must be an http:// or https:// URL", clip(raw))
			}
			out.Endpoint = v
		case "region":
			if v == "" {
				return nil, fmt.Errorf("dynamo: store URL %q: region is empty", clip(raw))
			}
			out.Region = v
		case "consistent":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("dynamo: store URL %q: consistent must be true or false", clip(raw))
			}
			out.Consistent = b
		default:
			return nil, fmt.Errorf("dynamo: store URL %q: unknown parameter %q", clip(raw), name)
		}
	}
	return out, nil
}

// String returns the URL in its canonical form.
func (u *URL) String() string {
	q := url.Values{}
	if u.Endpoint != "" {
		q.Set("endpoint", u.Endpoint)
	}
	if u.Region != "" {
		q.Set("region", u.Region)
	}
	if u.Consistent {
		q.Set("consistent", "true")
	}
	s := Scheme + "://" + u.Table
	if len(q) > 0 {
		s += "?" + q.Encode()
	}
	return s
}

func clip(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// maxIdleConns is how many idle connections to DynamoDB the client keeps:
// a server answering many requests at once would otherwise open and close
// TLS connections under load (the SDK keeps 10 per host by default).
const maxIdleConns = 256

// NewClient returns a DynamoDB client for u: the SDK's default
// configuration chain (environment, shared files, and on AWS the role's
// credentials), with the region and endpoint of u. With an endpoint and no
// credentials configured anywhere it signs with static dummy credentials,
// as local engines accept any; and it never asks the EC2 instance metadata
// service, which a local engine's user does not have.
func NewClient(ctx context.Context, u *URL) (*dynamodb.Client, error) {
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

// OpenURL opens a store as rawURL says (see URL). It sends nothing to
// DynamoDB; Ping checks that the table is there.
func OpenURL(ctx context.Context, rawURL string, opts ...Option) (*Store, error) {
	u, err := ParseURL(rawURL)
	if err != nil {
		return nil, err
	}
	client, err := NewClient(ctx, u)
	if err != nil {
		return nil, err
	}
	if u.Consistent {
		opts = append([]Option{WithConsistentReads(true)}, opts...)
	}
	return New(client, u.Table, opts...), nil
}
