#!/usr/bin/env bash
# bench/load-max.sh: the highest rate surge load reaches against a minimal
# Go server returning 100 bytes, beside wrk, vegeta and hey on the same
# machine in the same run, each with the same number of connections.
# Goal: surge >= 1.0x wrk, and above vegeta and hey.
#
#   bench/load-max.sh                 # 3 rounds of 10 s per tool, 50 connections
#   ROUNDS=5 DURATION=20s CONNS=64 bench/load-max.sh
#   PROFILE=1 bench/load-max.sh       # and one more surge load run with its
#                                     # CPU and allocation profiles, per request
cd "$(dirname "$0")/.."
. bench/load-lib.sh

DURATION=${DURATION:-10s}
CONNS=${CONNS:-50}
ROUNDS=${ROUNDS:-3}
ADDR=${MINIMAL_ADDR:-127.0.0.1:18089}
PROFILE=${PROFILE:-0}
URL="http://$ADDR/"

build_surge
need_wrk
need_vegeta
need_hey
start minimal -addr "$ADDR"
wait_http "$URL"

# surge_load ARGS...: surge load's run, ARGS added.
surge_load() {
	"$BIN/surge" load "$@" --model closed --vus "$CONNS" --duration "$DURATION" \
		--mix list=1 --items-path / --list-query '' --preseed 0 --progress none "http://$ADDR"
}

# Rounds alternate the tools, so that a noisy neighbour weighs on each
# alike; the figures are the medians of the rounds'.
W=() S=() E=() V=() H=()
for ((round = 1; round <= ROUNDS; round++)); do
	log "round $round: wrk, surge load, vegeta, hey; $CONNS connections for $DURATION each"
	W+=("$(wrk -t2 -c"$CONNS" -d"$DURATION" "$URL" | awk '/Requests\/sec/ { print $2 }')")
	surge_load --out "$OUT/max-surge.json" >"$OUT/max-surge.txt"
	S+=("$(jqr "$OUT/max-surge.json" .achievedRate)") E+=("$(jqr "$OUT/max-surge.json" .total.errors)")
	V+=("$(echo "GET $URL" | "$BIN/vegeta" attack -rate=0 -workers="$CONNS" -max-workers="$CONNS" \
		-duration="$DURATION" | "$BIN/vegeta" report | awk -F'[ ,]+' '/^Requests/ { print $NF }')")
	H+=("$("$BIN/hey" -z "$DURATION" -c "$CONNS" "$URL" | awk '/Requests\/sec/ { print $2 }')")
	log "round $round: wrk ${W[-1]}/s, surge ${S[-1]}/s, vegeta ${V[-1]}/s, hey ${H[-1]}/s"
done
wrk_rate=$(median "${W[@]}") surge_rate=$(median "${S[@]}") vegeta_rate=$(median "${V[@]}") hey_rate=$(median "${H[@]}")
surge_errors=$(printf '%s\n' "${E[@]}" | awk '{n += $1} END {print n}')

printf '\nhighest achieved rate, %s connections, %s each, medians of %s rounds, %s cores\n' "$CONNS" "$DURATION" "$ROUNDS" "$(nproc)"
printf '  %-10s %10.0f/s  (errors %s)\n' surge "$surge_rate" "$surge_errors"
printf '  %-10s %10.0f/s\n' wrk "$wrk_rate" vegeta "$vegeta_rate" hey "$hey_rate"
printf 'ratios\n'
printf '  surge/wrk     %s  (goal >= 1.00)\n' "$(ratio "$surge_rate" "$wrk_rate")"
printf '  surge/vegeta  %s  (goal > 1)\n' "$(ratio "$surge_rate" "$vegeta_rate")"
printf '  surge/hey     %s  (goal > 1)\n' "$(ratio "$surge_rate" "$hey_rate")"
machine
if [ "$PROFILE" = 1 ]; then
	# The global flags profile the whole run, which is the load: the
	# allocation profile's totals are those since the start.
	SURGE_CPU_PROFILE=$OUT/load.cpu.pprof SURGE_MEM_PROFILE=$OUT/load.allocs.pprof surge_load --out "$OUT/load-profile.json" >/dev/null
	print_profile "surge load" "$OUT/load.cpu.pprof" "$OUT/load.allocs.pprof" "$(jqr "$OUT/load-profile.json" .total.count)" \
		"$CONNS connections for $DURATION at $(jqr "$OUT/load-profile.json" .achievedRate | awk '{printf "%.0f", $1}')/s"
fi
