package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/surgehq/surge/internal/load/shard"
)

// bucket is the results bucket on Amazon S3 (or a service that speaks its
// API, given an endpoint): results too large for a response go there.
type bucket struct {
	client  *s3.Client
	presign *s3.PresignClient
	name    string
}

// urlLife is how long the URL of a stored result reads it: the
// coordinator fetches it as soon as the answer comes back.
const urlLife = time.Hour

func newBucket(cfg aws.Config, name, endpoint string) *bucket {
	c := s3.NewFromConfig(cfg, func(o *s3.Options) {
		if endpoint != "" {
			// A local stand-in of S3's API: buckets by path, and checksums
			// only where the API requires them, as such stand-ins expect.
			o.BaseEndpoint = aws.String(endpoint)
			o.UsePathStyle = true
			o.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
		}
	})
	return &bucket{client: c, presign: s3.NewPresignClient(c), name: name}
}

// Put writes a gzipped result under key and returns where it is, with a
// presigned URL that reads it for urlLife.
func (b *bucket) Put(ctx context.Context, key string, body []byte) (*shard.Stored, error) {
	_, err := b.client.PutObject(ctx, &s3.PutObjectInput{
		Bucket:        aws.String(b.name),
		Key:           aws.String(key),
		Body:          bytes.NewReader(body),
		ContentLength: aws.Int64(int64(len(body))),
		// Stored and served as gzip bytes, never decompressed on the way.
		ContentType: aws.String("application/gzip"),
	})
	if err != nil {
		return nil, fmt.Errorf("put s3://%s/%s: %w", b.name, key, err)
	}
	req, err := b.presign.PresignGetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(b.name), Key: aws.String(key)},
		s3.WithPresignExpires(urlLife))
	if err != nil {
		return nil, fmt.Errorf("presign s3://%s/%s: %w", b.name, key, err)
	}
	return &shard.Stored{Bucket: b.name, Key: key, Size: int64(len(body)), URL: req.URL}, nil
}

// handler builds the function's handler from its environment (see the
// package documentation). It sends nothing over the network: the AWS
// SDK's configuration and credentials are read from the environment (on
// Lambda, the function role's).
func handler(ctx context.Context, getenv func(string) string, log *slog.Logger) (*shard.Handler, error) {
	h := &shard.Handler{Log: log}
	if v := getenv("SURGE_RESULTS_INLINE_MAX"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > shard.MaxResponse {
			return nil, fmt.Errorf("SURGE_RESULTS_INLINE_MAX %q: want a number of bytes from 1 to %d", v, shard.MaxResponse)
		}
		h.InlineMax = n
	}
	name := getenv("SURGE_RESULTS_BUCKET")
	if name == "" {
		return h, nil
	}
	var opts []func(*config.LoadOptions) error
	region := getenv("SURGE_REGION")
	if region == "" {
		region = getenv("AWS_REGION")
	}
	if region != "" {
		opts = append(opts, config.WithRegion(region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("results bucket %s: %w", name, err)
	}
	h.Store = newBucket(cfg, name, getenv("SURGE_S3_ENDPOINT"))
	return h, nil
}
