#!/usr/bin/env bash
# bench/load-max.sh: the highest rate surge load reaches against a minimal
# Go server returning 100 bytes, beside wrk, vegeta and hey on the same
# machine in the same run, each with the same number of connections.
# Goal: surge >= 0.8x wrk, and above vegeta and hey.
#
#   bench/load-max.sh                 # 10 s per tool, 50 connections
#   DURATION=20s CONNS=64 bench/load-max.sh
cd "$(dirname "$0")/.."
. bench/load-lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
ADDR=${MINIMAL_ADDR:-127.0.0.1:18089}
URL="http://$ADDR/"

build_surge
need_wrk
need_vegeta
need_hey
start minimal -addr "$ADDR"
wait_http "$URL"

log "wrk: $CONNS connections for $DURATION"
wrk_rate=$(wrk -t2 -c"$CONNS" -d"$DURATION" "$URL" | awk '/Requests\/sec/ { print $2 }')

log "surge load: closed model, $CONNS users for $DURATION"
"$BIN/surge" load --model closed --vus "$CONNS" --duration "$DURATION" \
	--mix list=1 --items-path / --list-query '' --preseed 0 --progress none \
	--out "$OUT/max-surge.json" "http://$ADDR" >"$OUT/max-surge.txt"
surge_rate=$(jqr "$OUT/max-surge.json" .achievedRate)
surge_errors=$(jqr "$OUT/max-surge.json" .total.errors)

log "vegeta: $CONNS workers, unthrottled, for $DURATION"
vegeta_rate=$(echo "GET $URL" | "$BIN/vegeta" attack -rate=0 -workers="$CONNS" -max-workers="$CONNS" \
	-duration="$DURATION" | "$BIN/vegeta" report |
	awk -F'[ ,]+' '/^Requests/ { print $NF }')

log "hey: $CONNS workers for $DURATION"
hey_rate=$("$BIN/hey" -z "$DURATION" -c "$CONNS" "$URL" | awk '/Requests\/sec/ { print $2 }')

printf '\nhighest achieved rate, %s connections, %s each, %s cores\n' "$CONNS" "$DURATION" "$(nproc)"
printf '  %-10s %10.0f/s  (errors %s)\n' surge "$surge_rate" "$surge_errors"
printf '  %-10s %10.0f/s\n' wrk "$wrk_rate" vegeta "$vegeta_rate" hey "$hey_rate"
printf 'ratios\n'
printf '  surge/wrk     %s  (goal >= 0.80)\n' "$(ratio "$surge_rate" "$wrk_rate")"
printf '  surge/vegeta  %s  (goal > 1)\n' "$(ratio "$surge_rate" "$vegeta_rate")"
printf '  surge/hey     %s  (goal > 1)\n' "$(ratio "$surge_rate" "$hey_rate")"
