#!/usr/bin/env bash
# The latency the pool path adds at low load: GET /items/{id}, one request
# at a time with a millisecond between them, served in process (the items
# handler over loopback HTTP) and through a pool (the gateway's
# integration, a warm `surge function` instance over the Lambda Runtime
# API), interleaved in one run (BenchmarkPathAddedLatency,
# internal/local/lambda). Prints each path's p50 and p99, the added p50 and
# where the pool path's time goes; beside it, the floor of this machine
# (bench/rtfloor): the Runtime API's two HTTP exchanges between two bare
# net/http processes, at the same pace. Goal: added p50 under 250 µs.
#
#   bench/pool-latency.sh               # 3000 requests each
#   REQUESTS=10000 bench/pool-latency.sh
cd "$(dirname "$0")/.."
. bench/pool-lib.sh

REQUESTS=${REQUESTS:-3000}
build_functions
out=$(SURGE_BENCH_FUNCTION="$BIN/surge function" \
	go test -run '^$' -bench '^BenchmarkPathAddedLatency$' -benchtime "${REQUESTS}x" -count 1 ./internal/local/lambda 2>&1) || {
	echo "$out" >&2
	exit 1
}
line=$(grep '^BenchmarkPathAddedLatency' <<<"$out")
go build -o "$BIN/rtfloor" ./bench/rtfloor
read -r floor50 floor99 < <("$BIN/rtfloor" -n "$REQUESTS")
metric() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i - 1) }' <<<"$line"; }
printf '\nGET /items/{id}, %s requests each, low load (µs)\n' "$REQUESTS"
printf '  in process   p50 %8s   p99 %8s\n' "$(metric inproc-p50-us)" "$(metric inproc-p99-us)"
printf '  pool         p50 %8s   p99 %8s\n' "$(metric pool-p50-us)" "$(metric pool-p99-us)"
printf '  added        p50 %8s   (goal < 250)\n' "$(metric added-p50-us)"
printf '  of the pool path, p50: on the instance (Runtime API and function) %s, in the integration %s\n' \
	"$(metric lambda-p50-us)" "$(metric integration-p50-us)"
printf '  floor: the Runtime API exchanges alone, two bare processes   p50 %8s   p99 %8s\n' "$floor50" "$floor99"
echo
machine
