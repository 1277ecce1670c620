# Shared by the bench/pool-*.sh scripts: building surge and the host
# bootstrap, beside bench/lib.sh's common parts.
# Source it from the repository root.

. bench/lib.sh

# build_functions builds surge, surge-function and the Lambda bootstrap for
# this machine
# (as deploy/aws/build.sh's host build: stripped, lambda.norpc).
build_functions() {
	log "building surge and bootstrap into $BIN"
	go build -o "$BIN/surge" ./cmd/surge
	go build -o "$BIN/surge-function" ./cmd/surge-function
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

