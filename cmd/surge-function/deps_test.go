package main

import (
	"os/exec"
	"strings"
	"testing"
)

// forbidden are the packages surge-function must not link, each matched as
// a substring of an import path: what the surge binary has beside the
// function (the load tester and its client and histograms, the gateway,
// the local Lambda, the lab, the composition root of surge serve,
// Prometheus, tracing, the OpenAPI and CloudFormation libraries). Their
// initialisers would run at every cold start.
var forbidden = []string{
	"/internal/load",
	"/internal/lab",
	"/internal/server",
	"/internal/local/",
	"/internal/observe/metrics",
	"/internal/observe/tracing",
	"github.com/valyala/fasthttp",
	"github.com/HdrHistogram/hdrhistogram-go",
	"github.com/prometheus/",
	"go.opentelemetry.io/",
	"google.golang.org/grpc",
	"github.com/pb33f/libopenapi",
	"github.com/awslabs/goformation",
	"github.com/aws/aws-sdk-go-v2/service/lambda",
	"github.com/peterbourgon/ff",
}

func TestDependencies(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go list")
	}
	list := func(pkg string) []string {
		out, err := exec.Command("go", "list", "-deps", pkg).Output()
		if err != nil {
			t.Fatalf("go list -deps %s: %v", pkg, err)
		}
		return strings.Fields(string(out))
	}
	offending := func(pkgs []string) (bad []string) {
		for _, p := range pkgs {
			for _, f := range forbidden {
				if strings.Contains(p, f) {
					bad = append(bad, p)
				}
			}
		}
		return bad
	}
	pkgs := list(".")
	if bad := offending(pkgs); len(bad) > 0 {
		t.Errorf("surge-function links %v; it must not (see forbidden)", bad)
	}
	// What it must link, so that an empty or wrong list cannot pass.
	for _, want := range []string{"github.com/aws/aws-lambda-go/lambda", "github.com/surgehq/surge/internal/function",
		"github.com/surgehq/surge/internal/store/sqlite", "github.com/surgehq/surge/internal/store/remote",
		"github.com/surgehq/surge/internal/store/dynamo"} {
		found := false
		for _, p := range pkgs {
			found = found || p == want
		}
		if !found {
			t.Errorf("surge-function does not link %s", want)
		}
	}
	// The check catches a forbidden package where there is one.
	if bad := offending(list("../surge")); len(bad) == 0 {
		t.Error("the forbidden list does not catch what the surge binary links")
	}
}
