#!/usr/bin/env bash
# Loads a cached GET through `surge serve --optimized` (the response cache,
# stage throttling, the read cache; SQLite) with wrk, side by side with the
# minimal Go net/http server returning 100 bytes, in the same run, and
# prints each rate, the ratio and p99 latencies. The goal: a cached GET at
# >= 80% of the minimal server's rate.
#
#   bench/gateway-wrk.sh            # 10 s per measurement
#   DURATION=30s CONNS=64 bench/gateway-wrk.sh
#   ACCESS_LOG=true bench/gateway-wrk.sh   # with one log line per request
#
# The stage limit of the preset (1,000 rps) would throttle the load itself,
# so this run raises it out of reach (THROTTLE_RATE); the buckets are still
# checked on every request.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
ITEMS=${ITEMS:-1000}
ACCESS_LOG=${ACCESS_LOG:-false}
THROTTLE_RATE=${THROTTLE_RATE:-1000000}
export SURGE_BENCH_ITEMS=$ITEMS

source bench/wrk/lib.sh

go build -o "$work/surge" ./cmd/surge
go build -o "$work/minimal" ./bench/minimal

"$work/minimal" -addr 127.0.0.1:18189 2>/dev/null & pids+=($!)
"$work/surge" serve --addr 127.0.0.1:18180 --admin-addr 127.0.0.1:18190 --data "$work/data" --optimized \
	--access-log="$ACCESS_LOG" --throttle-stage-rate "$THROTTLE_RATE" --throttle-stage-burst "$THROTTLE_RATE" \
	--throttle-account-rate "$THROTTLE_RATE" --throttle-account-burst "$THROTTLE_RATE" 2>"$work/surge.log" & pids+=($!)
wait_up 18189 18180

# Seed the items the GET bench reads, 25 per batch request, then read each
# once so that the response cache holds them all.
seed 18180 "$ITEMS"
for ((i = 0; i < ITEMS; i++)); do echo "url = \"http://127.0.0.1:18180/items/b$i\""; echo "output = /dev/null"; done >"$work/warm.curl"
curl -sf -K "$work/warm.curl"

read -r minimal minimal_p99 < <(measure minimal http://127.0.0.1:18189/)
read -r cached cached_p99 < <(measure cached http://127.0.0.1:18180 bench/wrk/get.lua)

errors=$(grep -h "Non-2xx" "$work"/cached.txt || true)
[ -n "$errors" ] && echo "WARNING: $errors"
metrics=$(curl -sf 127.0.0.1:18190/metrics)
hits=$(awk '/^surge_gateway_cache_hits_total/ {print $2}' <<<"$metrics")
misses=$(awk '/^surge_gateway_cache_misses_total/ {print $2}' <<<"$metrics")

printf '\nwrk -t%s -c%s -d%s, %s, %s, %s, access log %s\n' "$THREADS" "$CONNS" "$DURATION" "$(go env GOOS)/$(go env GOARCH)" "$(nproc) cores" "$(date -u +%Y-%m-%d)" "$ACCESS_LOG"
printf '%-26s %12s %10s %8s %8s\n' target req/s p99_ms ratio goal
printf '%-26s %12.0f %10.2f %8s %8s\n' "minimal net/http" "$minimal" "$minimal_p99" "1.00" "-"
awk -v r="$cached" -v m="$minimal" -v p="$cached_p99" 'BEGIN {printf "%-26s %12.0f %10.2f %8.2f %8s\n", "cached GET /items/{id}", r, p, r/m, ">=0.80"}'
printf 'response cache: %s hits, %s misses\n' "$hits" "$misses"
