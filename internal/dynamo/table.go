package dynamo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// ErrTableExists and ErrTableNotFound are returned by CreateTable and
// DeleteTable.
var (
	ErrTableExists   = errors.New("dynamo: the table exists")
	ErrTableNotFound = errors.New("dynamo: the table does not exist")
)

// Billing modes of CreateTable.
const (
	OnDemand    = "on-demand"
	Provisioned = "provisioned"
)

// TableOptions say how CreateTable makes a table.
type TableOptions struct {
	// Billing is OnDemand (the default) or Provisioned.
	Billing string
	// RCU and WCU are the provisioned read and write capacity units; they
	// must be positive when Billing is Provisioned.
	RCU, WCU int64
	// Wait bounds the wait for the table to become active (default 5
	// minutes).
	Wait time.Duration
}

// Validate reports what is wrong with o.
func (o TableOptions) Validate() error {
	switch o.Billing {
	case "", OnDemand:
		if o.RCU != 0 || o.WCU != 0 {
			return errors.New("dynamo: read and write capacity are for provisioned billing")
		}
	case Provisioned:
		if o.RCU < 1 || o.WCU < 1 {
			return errors.New("dynamo: provisioned billing needs read and write capacity of at least 1")
		}
	default:
		return fmt.Errorf("dynamo: billing %q is neither %s nor %s", o.Billing, OnDemand, Provisioned)
	}
	return nil
}

// TableInput returns the CreateTable request of a store table named table:
// partition key tenant (S), sort key id (S).
func TableInput(table string, o TableOptions) *dynamodb.CreateTableInput {
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrTenant), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrTenant), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrID), KeyType: types.KeyTypeRange},
		},
		BillingMode: types.BillingModePayPerRequest,
	}
	if o.Billing == Provisioned {
		in.BillingMode = types.BillingModeProvisioned
		in.ProvisionedThroughput = &types.ProvisionedThroughput{
			ReadCapacityUnits:  aws.Int64(o.RCU),
			WriteCapacityUnits: aws.Int64(o.WCU),
		}
	}
	return in
}

func waitFor(o TableOptions) time.Duration {
	if o.Wait > 0 {
		return o.Wait
	}
	return 5 * time.Minute
}

// CreateTable creates a store table, waits until it is active, and turns
// on Time to Live for idempotency records. ErrTableExists if it exists.
func CreateTable(ctx context.Context, client *dynamodb.Client, table string, o TableOptions) error {
	if err := o.Validate(); err != nil {
		return err
	}
	if _, err := client.CreateTable(ctx, TableInput(table, o)); err != nil {
		var inUse *types.ResourceInUseException
		if errors.As(err, &inUse) {
			return fmt.Errorf("%w: %s", ErrTableExists, table)
		}
		return fmt.Errorf("dynamo: create table %s: %w", table, err)
	}
	w := dynamodb.NewTableExistsWaiter(client, func(wo *dynamodb.TableExistsWaiterOptions) {
		wo.MinDelay = 200 * time.Millisecond
		wo.MaxDelay = 5 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, waitFor(o)); err != nil {
		return fmt.Errorf("dynamo: wait for table %s to become active: %w", table, err)
	}
	if _, err := client.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{
		TableName: aws.String(table),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{
			AttributeName: aws.String(TTLAttribute),
			Enabled:       aws.Bool(true),
		},
	}); err != nil {
		return fmt.Errorf("dynamo: enable time to live on table %s: %w", table, err)
	}
	return nil
}

// DeleteTable deletes a table and waits until it is gone (at most wait; 0
// means 5 minutes). ErrTableNotFound if there is none.
func DeleteTable(ctx context.Context, client *dynamodb.Client, table string, wait time.Duration) error {
	if _, err := client.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String(table)}); err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return fmt.Errorf("%w: %s", ErrTableNotFound, table)
		}
		return fmt.Errorf("dynamo: delete table %s: %w", table, err)
	}
	w := dynamodb.NewTableNotExistsWaiter(client, func(wo *dynamodb.TableNotExistsWaiterOptions) {
		wo.MinDelay = 200 * time.Millisecond
		wo.MaxDelay = 5 * time.Second
	})
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String(table)}, waitFor(TableOptions{Wait: wait})); err != nil {
		return fmt.Errorf("dynamo: wait for table %s to be deleted: %w", table, err)
	}
	return nil
}
