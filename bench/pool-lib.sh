# Shared by the bench/pool-*.sh scripts: building surge and the host
# bootstrap, beside bench/lib.sh's common parts.
# Source it from the repository root.

. bench/lib.sh

# build_functions builds surge, surge-function and the Lambda bootstrap for
# this machine, all three as deploy/aws/build.sh's host build builds the
# bootstrap (static, stripped, lambda.norpc), so that cold starts compare
# what each program links and initialises, not how it was built: a
# default `go build` here links the C library dynamically (the dynamic
# loader costs a cold start about 1 ms) and aws-lambda-go's RPC mode
# (encoding/gob's initialisers, 0.3 ms).
build_functions() {
	log "building surge, surge-function and bootstrap into $BIN"
	lambda_build "$BIN/surge" ./cmd/surge
	lambda_build "$BIN/surge-function" ./cmd/surge-function
	lambda_build "$BIN/bootstrap" ./cmd/bootstrap
}

# lambda_build OUT PACKAGE builds a function as deploy/aws/build.sh builds
# the bootstrap.
lambda_build() {
	CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$1" "$2"
}

# metric_value FILE NAME: the value of the Prometheus series NAME (the
# whole series text, labels included) in a /metrics scrape, or 0.
metric_value() { awk -v n="$2" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }

