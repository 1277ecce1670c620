#!/usr/bin/env bash
# bench/load-co.sh: coordinated omission. Against a server that stalls for
# 200 ms once a second, surge load's reported p99 must be within 5% of the
# true p99 computed from the schedule (every request due during a stall
# waits for its end). A closed-model tool sends almost nothing during a
# stall: hey times only what it sent and under-reports the tail; wrk adds
# synthetic samples after the fact for responses slower than its average
# interval (its stats_correct), which repairs a regular stall like this one
# but not in general. surge's service time, timed from the actual send as
# closed-model tools time, shows the under-report beside the corrected
# latency. Every tool gets the same number of connections.
#
#   bench/load-co.sh
#   RATE=2000 DURATION=20s CONNS=16 bench/load-co.sh
cd "$(dirname "$0")/.."
. bench/load-lib.sh

RATE=${RATE:-2000}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-16}
ADDR=${STALL_ADDR:-127.0.0.1:18090}

build_surge
need_wrk
need_hey
start stall -addr "$ADDR" -period 1s -stall 200ms
wait_http "http://$ADDR/"

truth=$("$BIN/stall" -truth -rate "$RATE" -duration "$DURATION" -period 1s -stall 200ms | awk '$1 == "p99" { print $2 }')

log "surge load: open model, $RATE/s for $DURATION, at most $CONNS in flight"
"$BIN/surge" load --rate "$RATE" --duration "$DURATION" --max-inflight "$CONNS" \
	--mix list=1 --items-path / --list-query '' --preseed 0 --progress none \
	--out "$OUT/co.json" "http://$ADDR" >"$OUT/co.txt"
surge_p99=$(jqr "$OUT/co.json" .total.latency.p99Ms)
surge_svc=$(jqr "$OUT/co.json" .total.service.p99Ms)

log "wrk: $CONNS connections for $DURATION"
wrk_p99=$(wrk -t2 -c"$CONNS" -d"$DURATION" --latency "http://$ADDR/" | awk '$1 == "99%" { print $2 }')
wrk_ms=$(awk -v v="$wrk_p99" 'BEGIN {
	n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
	if (u == "us") n /= 1000; else if (u == "s") n *= 1000; else if (u == "m") n *= 60000
	printf "%.3f", n }')

log "hey: $CONNS connections for $DURATION"
hey_p99=$("$BIN/hey" -z "$DURATION" -c "$CONNS" "http://$ADDR/" | awk '$1 ~ /^99%/ { print $3 * 1000 }')

dev=$(awk -v a="$surge_p99" -v t="$truth" 'BEGIN { d = (a - t) / t * 100; if (d < 0) d = -d; printf "%.1f", d }')
verdict=FAIL
if awk -v d="$dev" 'BEGIN { exit !(d <= 5) }'; then verdict=PASS; fi
printf '\np99 against a server stalling 200 ms of every second, %s/s for %s, %s connections\n' "$RATE" "$DURATION" "$CONNS"
printf '  true (from the schedule)        %8.1f ms\n' "$truth"
printf '  surge load latency              %8.1f ms  (off by %s%%, goal <= 5%%: %s)\n' "$surge_p99" "$dev" "$verdict"
printf '  surge load service time         %8.1f ms  (timed from the actual send)\n' "$surge_svc"
printf '  hey (closed model)              %8.1f ms  (%sx the truth)\n' "$hey_p99" "$(ratio "$hey_p99" "$truth")"
printf '  wrk (closed, corrected after)   %8.1f ms  (%sx the truth)\n' "$wrk_ms" "$(ratio "$wrk_ms" "$truth")"
