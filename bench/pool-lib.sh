# Shared by the bench/pool-*.sh scripts: where binaries and outputs go,
# building surge and the host bootstrap, and stopping what was started.
# Source it from the repository root.

set -euo pipefail

BIN=${SURGE_BENCH_BIN:-/tmp/surge-bench-bin}
OUT=${SURGE_BENCH_OUT:-/tmp/surge-bench-out}
mkdir -p "$BIN" "$OUT"

PIDS=()
cleanup() {
	for pid in "${PIDS[@]:-}"; do
		[ -n "$pid" ] && kill "$pid" 2>/dev/null || true
	done
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

log() { printf '%s\n' "$*" >&2; }

# build_functions builds surge and the Lambda bootstrap for this machine
# (as deploy/aws/build.sh's host build: stripped, lambda.norpc).
build_functions() {
	log "building surge and bootstrap into $BIN"
	go build -o "$BIN/surge" ./cmd/surge
	CGO_ENABLED=0 go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o "$BIN/bootstrap" ./cmd/bootstrap
}

# metric_value FILE NAME: the value of the Prometheus series NAME (the
# whole series text, labels included) in a /metrics scrape, or 0.
metric_value() { awk -v n="$2" '$1 == n { print $2; found = 1 } END { if (!found) print 0 }' "$1"; }

machine() {
	echo "machine: $(nproc) cores, $(uname -m), load average $(cut -d' ' -f1-3 /proc/loadavg); $(go version | cut -d' ' -f3); $(date -u +%Y-%m-%dT%H:%MZ)"
}
