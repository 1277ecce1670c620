package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the packages the Lambda binary must not link: SQLite (a
// function on AWS stores in DynamoDB), the load tester and its HTTP client
// and histograms, Prometheus (nothing to scrape in a function, and its
// registration runs at init, on every cold start), and the template
// test's CloudFormation library. Each is matched as a substring of an
// import path.
var forbidden = []string{
	"modernc.org/sqlite",
	"github.com/ncruces/go-sqlite3",
	"/internal/store/sqlite",
	"/internal/load",
	"github.com/valyala/fasthttp",
	"github.com/HdrHistogram/hdrhistogram-go",
	"github.com/prometheus/",
	"github.com/awslabs/goformation",
}

// deps lists the packages pkg links for the Lambda build (GOOS=linux
// GOARCH=arm64 -tags lambda.norpc, as deploy/aws/build.sh builds it).
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-tags", "lambda.norpc", pkg)
	cmd.Env = append(os.Environ(), "GOOS=linux", "GOARCH=arm64", "CGO_ENABLED=0")
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("go list -deps %s: %v\n%s", pkg, err, msg)
	}
	return strings.Fields(string(out))
}

func offending(pkgs []string) []string {
	var bad []string
	for _, p := range pkgs {
		for _, f := range forbidden {
			if strings.Contains(p, f) {
				bad = append(bad, p)
			}
		}
	}
	return bad
}

func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	pkgs := deps(t, ".")
	if bad := offending(pkgs); len(bad) > 0 {
		t.Errorf("bootstrap links %v; it must not (see forbidden)", bad)
	}
	// What it must link, so that an empty or wrong list cannot pass.
	for _, want := range []string{"github.com/aws/aws-lambda-go/lambda", "github.com/surgehq/surge/internal/store/dynamo",
		"github.com/surgehq/surge/internal/api/itemsapi", "github.com/surgehq/surge/internal/api/awsevent"} {
		found := false
		for _, p := range pkgs {
			found = found || p == want
		}
		if !found {
			t.Errorf("bootstrap does not link %s", want)
		}
	}
	// The check itself catches a forbidden package where there is one.
	if bad := offending(deps(t, "../../internal/store/sqlite")); len(bad) == 0 {
		t.Error("the forbidden list does not catch the SQLite store's dependencies")
	}
}
