#!/usr/bin/env bash
# bench/postman-newman.sh: surge's own collection (examples/postman) against
# `surge serve` (memory store), run by Newman, Postman's runner (pinned in
# tools/newman, installed by scripts/setup), and by `surge load --postman`
# in the same run:
#   1. Newman, ITER iterations: one request after the other, as it always
#      runs (it has no concurrency);
#   2. surge, 1 user, ITER iterations: the same closed model, the same
#      requests, checks and captures: what each runner costs;
#   3. surge, VUS users, ITER iterations each: the closed model at once;
#   4. surge, the open-model mix at RATE a second for DURATION, chained
#      through the captured ids and ETags.
# For each: requests, failed checks, requests a second, mean and p99 latency
# (Newman reports no percentile: its mean and max), the runner's CPU seconds
# per 1,000 requests and its peak RSS (from /usr/bin/time).
#
#   bench/postman-newman.sh
#   ITER=100 VUS=16 RATE=2000 DURATION=10s bench/postman-newman.sh
cd "$(dirname "$0")/.."
. bench/load-lib.sh

ITER=${ITER:-50}
VUS=${VUS:-8}
RATE=${RATE:-1000}
DURATION=${DURATION:-10s}
ADDR=${SURGE_ADDR:-127.0.0.1:18095}
BASE="http://$ADDR"
COLL=examples/postman/surge.postman_collection.json
ENVF=examples/postman/surge.postman_environment.json
NEWMAN=tools/newman/node_modules/.bin/newman
MIX='*=1,Read an item=0,Replace an item=0,Dispatch: delete=0'

[ -x "$NEWMAN" ] || { log "newman is not installed: run scripts/setup"; exit 1; }
command -v jq >/dev/null || { log "jq is needed"; exit 1; }
log "building surge into $BIN"
go build -o "$BIN/surge" ./cmd/surge
start surge serve --addr "$ADDR" --admin-addr '' --store mem: --access-log=false
wait_http "$BASE/openapi.json"

# timed NAME CMD...: runs CMD under /usr/bin/time into $OUT/NAME.time.
timed() {
	local name=$1
	shift
	/usr/bin/time -f '%U %S %M' -o "$OUT/$name.time" "$@"
}
# cpu NAME: user+sys seconds; rss NAME: peak RSS in MB.
cpu() { awk '{ printf "%.2f", $1 + $2 }' "$OUT/$1.time"; }
rss() { awk '{ printf "%.0f", $3 / 1024 }' "$OUT/$1.time"; }

row() { printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$@"; }

log "newman: $ITER iterations"
timed newman "$NEWMAN" run "$COLL" --environment "$ENVF" --env-var "baseUrl=$BASE" -n "$ITER" \
	--reporters json --reporter-json-export "$OUT/newman.json" --timeout-request 10000 >/dev/null
n_req=$(jq '.run.stats.requests.total' "$OUT/newman.json")
n_fail=$(jq '.run.stats.assertions.failed' "$OUT/newman.json")
n_secs=$(jq '(.run.timings.completed - .run.timings.started) / 1000' "$OUT/newman.json")
n_rate=$(awk -v n="$n_req" -v s="$n_secs" 'BEGIN { printf "%.0f", n / s }')
n_mean=$(jq '.run.timings.responseAverage * 100 | round / 100' "$OUT/newman.json")
n_max=$(jq '.run.timings.responseMax' "$OUT/newman.json")
n_cpu=$(awk -v c="$(cpu newman)" -v n="$n_req" 'BEGIN { printf "%.2f", c * 1000 / n }')

# surge_run NAME ARGS...: a surge load run of the collection, then its row.
surge_run() {
	local name=$1 label=$2
	shift 2
	log "surge load: $label"
	timed "$name" "$BIN/surge" load --postman "$COLL" --postman-env "$ENVF" --postman-var "baseUrl=$BASE" \
		--progress none --out "$OUT/$name.json" "$@" >"$OUT/$name.txt" 2>&1
	local f=$OUT/$name.json sent
	sent=$(jq '.sent' "$f")
	row "surge, $label" "$sent" "$(jq '.total.checksFailed // 0' "$f")" \
		"$(jq '.achievedRate | round' "$f")" "$(jq '.total.latency.avgMs' "$f")" \
		"p99 $(jq '.total.latency.p99Ms' "$f")" \
		"$(awk -v c="$(cpu "$name")" -v n="$sent" 'BEGIN { printf "%.2f", c * 1000 / n }')" "$(rss "$name")"
}

machine
echo
row runner requests "checks failed" "requests/s" "mean ms" "p99 (Newman: max) ms" "CPU s / 1,000 requests" "peak RSS MB"
row --- --- --- --- --- --- --- ---
row "Newman, $ITER iterations" "$n_req" "$n_fail" "$n_rate" "$n_mean" "max $n_max" "$n_cpu" "$(rss newman)"
surge_run surge-1 "1 user, $ITER iterations" --vus 1 --iterations "$ITER"
surge_run surge-n "$VUS users, $ITER iterations each" --vus "$VUS" --iterations "$ITER"
surge_run surge-mix "open-model mix, $RATE/s for $DURATION" --rate "$RATE" --duration "$DURATION" --postman-mix "$MIX"
