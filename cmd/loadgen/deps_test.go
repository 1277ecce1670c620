package main

import (
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// forbidden are the packages the generator must not link, each matched as
// a substring of an import path: SQLite, the stores and the service (a
// generator sends load; it serves nothing and stores nothing), Prometheus
// (its registration runs at init, on every cold start), the coordinator's
// Lambda client, and what only tests use (CloudFormation, Kubernetes
// types, the S3 stand-in).
var forbidden = []string{
	"modernc.org/sqlite",
	"github.com/ncruces/go-sqlite3",
	"/internal/store",
	"/internal/server",
	"/internal/api",
	"/internal/local",
	"/internal/items",
	"github.com/prometheus/",
	"github.com/aws/aws-sdk-go-v2/service/lambda",
	"github.com/aws/aws-sdk-go-v2/service/dynamodb",
	"github.com/awslabs/goformation",
	"k8s.io/",
	"github.com/johannesboyne/gofakes3",
}

// deps lists the packages pkg links for the Lambda build, as
// deploy/aws/build.sh builds it.
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
		t.Errorf("loadgen links %v; it must not (see forbidden)", bad)
	}
	// What it must link, so that an empty or wrong list cannot pass.
	for _, want := range []string{"github.com/aws/aws-lambda-go/lambda", "github.com/surgehq/surge/internal/load",
		"github.com/surgehq/surge/internal/load/shard", "github.com/aws/aws-sdk-go-v2/service/s3"} {
		if !slices.Contains(pkgs, want) {
			t.Errorf("loadgen does not link %s", want)
		}
	}
	// The check itself catches a forbidden package where there is one.
	if bad := offending(deps(t, "../../internal/store/sqlite")); len(bad) == 0 {
		t.Error("the forbidden list does not catch the SQLite store's dependencies")
	}
}
