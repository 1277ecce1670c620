package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/store/dynamo/dynalitetest"
)

// runSurge runs the command line and returns its exit code and output.
func runSurge(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestTableCreateDelete(t *testing.T) {
	endpoint := dynalitetest.Start(t)
	client := dynalitetest.NewClient(endpoint)
	describe := func(table string) (*types.TableDescription, error) {
		out, err := client.DescribeTable(context.Background(), &dynamodb.DescribeTableInput{TableName: aws.String(table)})
		if err != nil {
			return nil, err
		}
		return out.Table, nil
	}
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

	t.Run("OnDemand", func(t *testing.T) {
		table := dynalitetest.TableName()
		store := "dynamodb://" + table + "?endpoint=" + endpoint
		code, out, errs := runSurge(t, "table", "create", "--store", store)
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, errs)
		}
		if !strings.Contains(out, "created table "+table) {
			t.Errorf("create said %q", out)
		}
		d, err := describe(table)
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		if d.TableStatus != types.TableStatusActive {
			t.Errorf("status: got %s, want ACTIVE", d.TableStatus)
		}
		if len(d.KeySchema) != 2 || *d.KeySchema[0].AttributeName != "tenant" || d.KeySchema[0].KeyType != types.KeyTypeHash ||
			*d.KeySchema[1].AttributeName != "id" || d.KeySchema[1].KeyType != types.KeyTypeRange {
			t.Errorf("key schema: got %+v", d.KeySchema)
		}
		if d.BillingModeSummary == nil || d.BillingModeSummary.BillingMode != types.BillingModePayPerRequest {
			t.Errorf("billing: got %+v, want PAY_PER_REQUEST", d.BillingModeSummary)
		}
		ttl, err := client.DescribeTimeToLive(context.Background(), &dynamodb.DescribeTimeToLiveInput{TableName: aws.String(table)})
		if err != nil || ttl.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(ttl.TimeToLiveDescription.AttributeName) != "ttl" {
			t.Errorf("time to live: got %+v, %v; want enabled on ttl", ttl, err)
		}

		code, _, errs = runSurge(t, "table", "create", "--store", store)
		if code == 0 || !strings.Contains(errs, "exists") {
			t.Errorf("second create: exit %d, %q; want a failure that says the table exists", code, errs)
		}

		code, out, errs = runSurge(t, "table", "delete", "--store", store)
		if code != 0 {
			t.Fatalf("delete: exit %d: %s", code, errs)
		}
		if !strings.Contains(out, "deleted table "+table) {
			t.Errorf("delete said %q", out)
		}
		var nf *types.ResourceNotFoundException
		if _, err := describe(table); !errors.As(err, &nf) {
			t.Errorf("describe after delete: got %v, want ResourceNotFoundException", err)
		}
		code, _, errs = runSurge(t, "table", "delete", "--store", store)
		if code == 0 || !strings.Contains(errs, "does not exist") {
			t.Errorf("second delete: exit %d, %q; want a failure that says there is no table", code, errs)
		}
	})

	t.Run("Provisioned", func(t *testing.T) {
		table := dynalitetest.TableName()
		store := "dynamodb://" + table + "?endpoint=" + endpoint
		code, out, errs := runSurge(t, "table", "create", "--store", store, "--billing", "provisioned", "--rcu", "20", "--wcu", "10")
		if code != 0 {
			t.Fatalf("create: exit %d: %s", code, errs)
		}
		if !strings.Contains(out, "20 RCU, 10 WCU") {
			t.Errorf("create said %q", out)
		}
		d, err := describe(table)
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		if pt := d.ProvisionedThroughput; pt == nil || aws.ToInt64(pt.ReadCapacityUnits) != 20 || aws.ToInt64(pt.WriteCapacityUnits) != 10 {
			t.Errorf("throughput: got %+v, want 20 RCU and 10 WCU", d.ProvisionedThroughput)
		}
		if code, _, errs := runSurge(t, "table", "delete", "--store", store); code != 0 {
			t.Fatalf("delete: exit %d: %s", code, errs)
		}
	})

	t.Run("BadFlags", func(t *testing.T) {
		store := "dynamodb://" + dynalitetest.TableName() + "?endpoint=" + endpoint
		for _, args := range [][]string{
			{"table", "create"},
			{"table", "create", "--store", "sqlite:x.db"},
			{"table", "create", "--store", "dynamodb://x"},
			{"table", "create", "--store", store, "--billing", "provisioned"},
			{"table", "create", "--store", store, "--rcu", "5"},
			{"table", "create", "--store", store, "--billing", "free"},
			{"table", "delete", "--store", store, "extra"},
		} {
			if code, _, _ := runSurge(t, args...); code == 0 {
				t.Errorf("%q: exit 0, want a failure", args)
			}
		}
	})
}
