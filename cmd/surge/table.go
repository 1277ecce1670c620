package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/dynamo"
)

func init() { addCommand(newTableCommand) }

// tableConfig holds the flags of `surge table`.
type tableConfig struct {
	store   string
	wait    time.Duration
	billing string
	rcu     int64
	wcu     int64
}

// newTableCommand makes `surge table create|delete`, which makes or removes
// the DynamoDB table of a dynamodb:// store.
func newTableCommand(r *root) *ff.Command {
	c := &tableConfig{}
	fs := ff.NewFlagSet("table").SetParent(r.flags)
	fs.StringVar(&c.store, 0, "store", "", "the table's store URL: dynamodb://TABLE?endpoint=URL&region=R")
	fs.DurationVar(&c.wait, 0, "wait", 5*time.Minute, "how long to wait for the table to become active or be gone")

	cfs := ff.NewFlagSet("create").SetParent(fs)
	cfs.StringEnumVar(&c.billing, 0, "billing", "billing mode: on-demand or provisioned", dynamo.OnDemand, dynamo.Provisioned)
	cfs.Int64Var(&c.rcu, 0, "rcu", 0, "provisioned read capacity units (with --billing provisioned)")
	cfs.Int64Var(&c.wcu, 0, "wcu", 0, "provisioned write capacity units (with --billing provisioned)")
	create := &ff.Command{
		Name:      "create",
		Usage:     "surge table create --store dynamodb://TABLE[?endpoint=URL&region=R] [--billing on-demand|provisioned --rcu N --wcu N]",
		ShortHelp: "create the table and wait until it is active",
		LongHelp: "Creates the table of a DynamoDB store (partition key tenant, sort key id, both\n" +
			"strings), waits until it is active, and turns on Time to Live on its ttl\n" +
			"attribute (it expires idempotency records). The seed's production table is\n" +
			"--billing provisioned --rcu 20 --wcu 10.",
		Flags: cfs,
		Exec: func(ctx context.Context, args []string) error {
			return c.run(ctx, r, args, "create")
		},
	}

	dfs := ff.NewFlagSet("delete").SetParent(fs)
	del := &ff.Command{
		Name:      "delete",
		Usage:     "surge table delete --store dynamodb://TABLE[?endpoint=URL&region=R]",
		ShortHelp: "delete the table, and every item in it, and wait until it is gone",
		Flags:     dfs,
		Exec: func(ctx context.Context, args []string) error {
			return c.run(ctx, r, args, "delete")
		},
	}

	return &ff.Command{
		Name:        "table",
		Usage:       "surge table <create|delete> --store dynamodb://TABLE[?endpoint=URL&region=R] [FLAGS]",
		ShortHelp:   "create or delete the DynamoDB table of a store",
		LongHelp:    "Credentials come from the AWS SDK's default chain (environment, shared files,\nrole); with a local ?endpoint= and none configured, dummy ones are used.",
		Flags:       fs,
		Subcommands: []*ff.Command{create, del},
		Exec: func(context.Context, []string) error {
			return ff.ErrHelp
		},
	}
}

func (c *tableConfig) run(ctx context.Context, r *root, args []string, op string) error {
	if len(args) > 0 {
		return fmt.Errorf("table %s takes no arguments, got %q", op, args)
	}
	if c.store == "" {
		return errors.New("--store is required: dynamodb://TABLE?endpoint=URL&region=R")
	}
	if !strings.HasPrefix(c.store, dynamo.Scheme+"://") {
		return fmt.Errorf("--store %q: tables are for DynamoDB stores (dynamodb://TABLE)", c.store)
	}
	u, err := dynamo.ParseURL(c.store)
	if err != nil {
		return err
	}
	opts := dynamo.TableOptions{Billing: c.billing, RCU: c.rcu, WCU: c.wcu, Wait: c.wait}
	if op == "create" {
		if err := opts.Validate(); err != nil {
			return err
		}
	}
	client, err := dynamo.NewClient(ctx, u)
	if err != nil {
		return err
	}
	where := "AWS region " + client.Options().Region
	if u.Endpoint != "" {
		where = u.Endpoint
	}
	switch op {
	case "create":
		if err := dynamo.CreateTable(ctx, client, u.Table, opts); err != nil {
			return err
		}
		mode := dynamo.OnDemand
		if opts.Billing == dynamo.Provisioned {
			mode = fmt.Sprintf("provisioned, %d RCU, %d WCU", opts.RCU, opts.WCU)
		}
		fmt.Fprintf(r.stdout, "created table %s (%s) at %s\n", u.Table, mode, where)
	case "delete":
		if err := dynamo.DeleteTable(ctx, client, u.Table, c.wait); err != nil {
			return err
		}
		fmt.Fprintf(r.stdout, "deleted table %s at %s\n", u.Table, where)
	}
	return nil
}
