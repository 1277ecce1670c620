#!/usr/bin/env bash
# Builds the Lambda functions (cmd/bootstrap, and the load generator
# cmd/loadgen) for the provided.al2023 runtime on arm64, and their
# deployment packages, and prints their sizes:
#
#   dist/bootstrap        linux/arm64, stripped, Runtime API only (lambda.norpc)
#   dist/bootstrap.zip    the package deploy/aws/template.yaml deploys
#   dist/host/bootstrap   the same build for this machine, for local runs
#                         (the Runtime Interface Emulator, bench/bootstrap-init.sh)
#   dist/loadgen/bootstrap  the load generator (cmd/loadgen), linux/arm64
#   dist/loadgen.zip      the package deploy/aws/loadgen/template.yaml deploys
#   dist/host/loadgen     the generator for this machine (surge's local Lambda)
#
# Usage: deploy/aws/build.sh [--host-only]
# Environment: DIST (output directory, default dist), LAMBDA_ARCH (arm64, or
# amd64 for an x86_64 function; the template says arm64).
set -euo pipefail
cd "$(dirname "$0")/../.."

dist=${DIST:-dist}
arch=${LAMBDA_ARCH:-arm64}
host_only=false
case "${1:-}" in
--host-only) host_only=true ;;
"") ;;
*)
	echo "usage: $0 [--host-only]" >&2
	exit 2
	;;
esac

# -tags lambda.norpc leaves out the RPC mode of the go1.x runtime, which
# provided.al2023 never uses; -trimpath and -s -w make a smaller binary
# that does not depend on where it was built.
flags=(-tags lambda.norpc -trimpath -ldflags='-s -w')
mkdir -p "$dist/host" "$dist/loadgen"

size() { wc -c <"$1" | tr -d ' '; }
report() { # file label
	local n
	n=$(size "$1")
	awk -v f="$1" -v n="$n" -v l="$2" 'BEGIN { printf "%-22s %10d bytes  %6.2f MiB  %s\n", f, n, n / 1048576, l }'
}

if ! $host_only; then
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build "${flags[@]}" -o "$dist/bootstrap" ./cmd/bootstrap
	go run ./deploy/aws/mkzip -o "$dist/bootstrap.zip" "$dist/bootstrap"
	report "$dist/bootstrap" "linux/$arch"
	report "$dist/bootstrap.zip" "deployment package"
	CGO_ENABLED=0 GOOS=linux GOARCH="$arch" go build "${flags[@]}" -o "$dist/loadgen/bootstrap" ./cmd/loadgen
	go run ./deploy/aws/mkzip -o "$dist/loadgen.zip" "$dist/loadgen/bootstrap"
	report "$dist/loadgen/bootstrap" "linux/$arch, the load generator"
	report "$dist/loadgen.zip" "its deployment package"
fi
CGO_ENABLED=0 go build "${flags[@]}" -o "$dist/host/bootstrap" ./cmd/bootstrap
report "$dist/host/bootstrap" "$(go env GOOS)/$(go env GOARCH) (this machine)"
CGO_ENABLED=0 go build "${flags[@]}" -o "$dist/host/loadgen" ./cmd/loadgen
report "$dist/host/loadgen" "$(go env GOOS)/$(go env GOARCH), the load generator"
