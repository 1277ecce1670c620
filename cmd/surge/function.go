package main

import (
	"context"
	"fmt"
	"os"

	"github.com/peterbourgon/ff/v4"

	"github.com/surgehq/surge/internal/cli"
	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/function/localstore"
)

// newFunctionCommand makes `surge function`: the Lambda function of
// cmd/bootstrap, the same code, run as a local function instance. It is
// what `surge serve --functions` starts for each instance; it also opens
// SQLite, which the Lambda build does not link.
func newFunctionCommand(r *root) *ff.Command {
	fs := ff.NewFlagSet("function").SetParent(r.flags)
	return &ff.Command{
		Name:      "function",
		Usage:     "surge function",
		ShortHelp: "run the items function as a Lambda function instance (Runtime API)",
		LongHelp: "Runs the function that cmd/bootstrap deploys to AWS Lambda, as one function\n" +
			"instance: it reads its configuration from the environment, opens its store,\n" +
			"and takes events from the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API until it\n" +
			"is stopped. `surge serve --functions` runs it for each instance, unless\n" +
			"surge-function (cmd/surge-function: this function alone, which starts in\n" +
			"half the time) of the same build is installed beside surge.\n\n" +
			"Environment, beside Lambda's and cmd/bootstrap's (SURGE_TABLE,\n" +
			"SURGE_CACHE_CONTROL, SURGE_LOG_LEVEL, ...):\n" +
			"  SURGE_STORE   sqlite:PATH, dynamodb://TABLE?endpoint=URL&region=R, mem:, or\n" +
			"                dax://HOST:PORT (the read cache that surge serve shares)\n" +
			"                (default: the DynamoDB table SURGE_TABLE, as on Lambda)\n" +
			"  SURGE_SYNC    SQLite durability: normal (default) or full",
		Flags: fs,
		Exec: func(ctx context.Context, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("function takes no arguments, got %q", args)
			}
			// An instance is ended with SIGKILL; a SIGINT or SIGTERM (from a
			// terminal) ends it at once too.
			go func() {
				<-ctx.Done()
				os.Exit(0)
			}()
			if err := function.Run(localstore.Open); err != nil {
				return cli.ExitError{Code: 1} // Run logged it
			}
			return nil
		},
	}
}
