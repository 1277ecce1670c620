package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/surgehq/surge/internal/items"
	"github.com/surgehq/surge/internal/store"
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
	Billing string `flag:"billing" enum:"on-demand,provisioned" help:"billing mode: on-demand or provisioned"`
	// RCU and WCU are the provisioned read and write capacity units; they
	// must be positive when Billing is Provisioned.
	RCU int64 `flag:"rcu" help:"provisioned read capacity units (with --billing provisioned)"`
	WCU int64 `flag:"wcu" help:"provisioned write capacity units (with --billing provisioned)"`
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
// partition key tenant (S), sort key id (S), and the global secondary
// index items.IndexName (partition key ikey (S), sort key id, every
// attribute projected), which on a provisioned table has the table's
// capacity.
func TableInput(table string, o TableOptions) *dynamodb.CreateTableInput {
	gsi := types.GlobalSecondaryIndex{
		IndexName: aws.String(items.IndexName),
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String(attrIndexKey), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String(attrID), KeyType: types.KeyTypeRange},
		},
		Projection: &types.Projection{ProjectionType: types.ProjectionTypeAll},
	}
	in := &dynamodb.CreateTableInput{
		TableName: aws.String(table),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String(attrTenant), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrID), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String(attrIndexKey), AttributeType: types.ScalarAttributeTypeS},
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
		gsi.ProvisionedThroughput = in.ProvisionedThroughput
	}
	in.GlobalSecondaryIndexes = []types.GlobalSecondaryIndex{gsi}
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

// TableAt is the table a dynamodb:// store URL names, opened for
// administration (surge table): its client, name, and where it is, for
// messages.
type TableAt struct {
	Client *dynamodb.Client
	Table  string
	// Where is the endpoint, or "AWS region R".
	Where string
}

// OpenTable opens the table that the store URL rawURL names. It sends
// nothing over the network.
func OpenTable(ctx context.Context, rawURL string) (*TableAt, error) {
	if !strings.HasPrefix(rawURL, store.SchemeDynamoDB+"://") {
		return nil, fmt.Errorf("store %q: tables are for DynamoDB stores (dynamodb://TABLE)", rawURL)
	}
	u, err := store.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	client, err := NewClient(ctx, u)
	if err != nil {
		return nil, err
	}
	where := "AWS region " + client.Options().Region
	if u.Endpoint != "" {
		where = u.Endpoint
	}
	return &TableAt{Client: client, Table: u.Table, Where: where}, nil
}

// Manage creates (op "create") or deletes (op "delete") the table of the
// dynamodb:// store URL, waiting as o says, and says what it did.
func Manage(ctx context.Context, storeURL, op string, o TableOptions) (string, error) {
	if storeURL == "" {
		return "", errors.New("--store is required: dynamodb://TABLE?endpoint=URL&region=R")
	}
	if op == "create" {
		if err := o.Validate(); err != nil {
			return "", err
		}
	}
	t, err := OpenTable(ctx, storeURL)
	if err != nil {
		return "", fmt.Errorf("--store: %w", err)
	}
	if op == "delete" {
		if err := DeleteTable(ctx, t.Client, t.Table, o.Wait); err != nil {
			return "", err
		}
		return fmt.Sprintf("deleted table %s at %s", t.Table, t.Where), nil
	}
	if err := CreateTable(ctx, t.Client, t.Table, o); err != nil {
		return "", err
	}
	mode := OnDemand
	if o.Billing == Provisioned {
		mode = fmt.Sprintf("provisioned, %d RCU, %d WCU", o.RCU, o.WCU)
	}
	return fmt.Sprintf("created table %s (%s) at %s", t.Table, mode, t.Where), nil
}
