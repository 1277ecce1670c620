#!/usr/bin/env bash
# Cold start of a local function instance, process start to first answer,
# p50 and p99 over RUNS cold starts (BenchmarkColdStart, internal/local/lambda):
# each is a request (a REST API event for GET /healthz) that finds no
# instance, timed from the invocation to the answer: the process start,
# the Go runtime's and the function's init, the Runtime API's first
# exchange and the invocation. Between runs the instance is reclaimed.
#
# For each function program (`surge function`, and the Lambda bootstrap
# built for this machine) and each memory setting (no limits, then
# MEMORIES with the cgroup CPU share of each), it prints:
#   first-p50/p99  request to answer of a cold start, ms
#   init-p50       process start to the runtime's first /next, ms
#                  (Lambda's Init Duration)
# Goal: first-p50 under 30 ms here (AWS, published: Go about 459 ms p50,
# Python 700 to 1,200 ms).
#
#   bench/pool-coldstart.sh             # 50 cold starts each
#   RUNS=200 MEMORIES="512 1769" bench/pool-coldstart.sh
cd "$(dirname "$0")/.."
. bench/pool-lib.sh

RUNS=${RUNS:-50}
MEMORIES=${MEMORIES:-"512 1769"}
build_functions

run() { # NAME PROGRAM [MEMORY]
	local out
	out=$(SURGE_BENCH_FUNCTION="$2" SURGE_BENCH_MEMORY="${3:-}" \
		go test -run '^$' -bench '^BenchmarkColdStart$' -benchtime "${RUNS}x" -count 1 ./internal/local/lambda 2>&1) || {
		echo "$out" >&2
		return 1
	}
	local line
	line=$(grep '^BenchmarkColdStart' <<<"$out")
	metric() { awk -v u="$1" '{ for (i = 2; i <= NF; i++) if ($i == u) print $(i - 1) }' <<<"$line"; }
	printf '%-18s %-9s %10s %10s %10s\n' "$1" "${3:-none}" "$(metric first-p50-ms)" "$(metric first-p99-ms)" "$(metric init-p50-ms)"
}

printf '\ncold start, %s runs each (ms)\n' "$RUNS"
printf '%-18s %-9s %10s %10s %10s\n' function "memory" first-p50 first-p99 init-p50
for prog in "surge-function:$BIN/surge function" "bootstrap:$BIN/bootstrap"; do
	name=${prog%%:*}
	cmd=${prog#*:}
	run "$name" "$cmd"
	for m in $MEMORIES; do
		run "$name" "$cmd" "$m"
	done
done
echo
ls -l "$BIN/surge" "$BIN/bootstrap" | awk '{ printf "%s: %.1f MB\n", $NF, $5 / 1048576 }'
machine
