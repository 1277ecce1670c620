package main

import (
	"context"
	"fmt"
	"time"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/store/dynamo"
)

// newTableCommand makes `surge table create|delete`, which makes or removes
// the DynamoDB table of a dynamodb:// store.
func newTableCommand(r *root) *ff.Command {
	var store string
	opts := dynamo.TableOptions{Billing: dynamo.OnDemand}
	fs := ff.NewFlagSet("table").SetParent(r.flags)
	fs.StringVar(&store, 0, "store", "", "the table's store URL: dynamodb://TABLE?endpoint=URL&region=R")
	fs.DurationVar(&opts.Wait, 0, "wait", 5*time.Minute, "how long to wait for the table to become active or be gone")
	sub := func(op, usage, short, long string, fs *ff.FlagSet) *ff.Command {
		return &ff.Command{Name: op, Usage: usage, ShortHelp: short, LongHelp: long, Flags: fs,
			Exec: func(ctx context.Context, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("table %s takes no arguments, got %q", op, args)
				}
				msg, err := dynamo.Manage(ctx, store, op, opts)
				if err == nil {
					fmt.Fprintln(r.stdout, msg)
				}
				return err
			}}
	}
	cfs := ff.NewFlagSet("create").SetParent(fs)
	if err := cli.Bind(cfs, &opts); err != nil {
		panic(err) // a mistake in dynamo.TableOptions' tags
	}
	create := sub("create", "surge table create --store dynamodb://TABLE[?endpoint=URL&region=R] [--billing on-demand|provisioned --rcu N --wcu N]",
		"create the table and wait until it is active",
		"Creates the table of a DynamoDB store (partition key tenant, sort key id, both\n"+
			"strings) with its global secondary index name-index (the dispatcher's query\n"+
			"by name), waits until it is active, and turns on Time to Live on its ttl\n"+
			"attribute (it expires idempotency records). The seed's production table is\n"+
			"--billing provisioned --rcu 20 --wcu 10 (the index gets the same). On a local\n"+
			"engine, surge serve then charges and throttles the table at that capacity.", cfs)
	del := sub("delete", "surge table delete --store dynamodb://TABLE[?endpoint=URL&region=R]",
		"delete the table, and every item in it, and wait until it is gone", "", ff.NewFlagSet("delete").SetParent(fs))
	return &ff.Command{
		Name:        "table",
		Usage:       "surge table <create|delete> --store dynamodb://TABLE[?endpoint=URL&region=R] [FLAGS]",
		ShortHelp:   "create or delete the DynamoDB table of a store",
		LongHelp:    "Credentials come from the AWS SDK's default chain (environment, shared files,\nrole); with a local ?endpoint= and none configured, dummy ones are used.",
		Flags:       fs,
		Subcommands: []*ff.Command{create, del},
		Exec:        func(context.Context, []string) error { return ff.ErrHelp },
	}
}
