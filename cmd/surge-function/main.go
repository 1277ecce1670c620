// Command surge-function is `surge function` as a program of its own: the
// items function of cmd/bootstrap, run as one local function instance
// over the Lambda Runtime API at AWS_LAMBDA_RUNTIME_API, with the stores
// that `surge serve --functions` gives its instances (SQLite, memory, the
// shared read cache; SURGE_STORE) beside DynamoDB's.
//
// The surge binary links the load tester, the gateway, the lab and their
// libraries, whose initialisers run at every start of every process of
// it: a cold start of `surge function` pays for all of them, more than
// twice what the Lambda build's does. This program links the function and
// its stores only (a test checks its dependency list), so that a local
// cold start costs about what one on Lambda does. `surge serve
// --functions` runs it for its instances when it is installed beside
// surge from the same build (go install ./cmd/surge ./cmd/surge-function),
// and `surge function` otherwise.
//
// Configuration: the environment, as `surge function --help` lists it.
package main

import (
	"os"

	"github.com/surgehq/surge/internal/function"
	"github.com/surgehq/surge/internal/function/localstore"
)

func main() {
	if err := function.Run(localstore.Open); err != nil {
		os.Exit(1) // Run logged the error and reported it to the Runtime API
	}
}
