#!/usr/bin/env bash
# bench/load-fixed.sh: surge load at a fixed open-model rate (20,000/s by
# default) against the minimal server; the achieved rate must be within 1%
# of the target, with nothing dropped.
#
#   bench/load-fixed.sh
#   RATE=20000 DURATION=30s bench/load-fixed.sh
cd "$(dirname "$0")/.."
. bench/load-lib.sh

RATE=${RATE:-20000}
DURATION=${DURATION:-20s}
ADDR=${MINIMAL_ADDR:-127.0.0.1:18089}

build_surge
start minimal -addr "$ADDR"
wait_http "http://$ADDR/"

log "surge load: open model, $RATE/s for $DURATION"
"$BIN/surge" load --rate "$RATE" --duration "$DURATION" \
	--mix list=1 --items-path / --list-query '' --preseed 0 --progress none \
	--out "$OUT/fixed.json" "http://$ADDR" | tee "$OUT/fixed.txt" | sed -n '1,5p'
achieved=$(jqr "$OUT/fixed.json" .achievedRate)
sent=$(jqr "$OUT/fixed.json" .sent)
late=$(jqr "$OUT/fixed.json" .late)
dropped=$(jqr "$OUT/fixed.json" .dropped)
dev=$(awk -v a="$achieved" -v r="$RATE" 'BEGIN { d = (a - r) / r * 100; if (d < 0) d = -d; printf "%.2f", d }')
verdict=FAIL
if awk -v d="$dev" 'BEGIN { exit !(d <= 1) }' && [ "$dropped" = 0 ]; then verdict=PASS; fi
printf '\nfixed rate %s/s for %s: achieved %.1f/s, off by %s%% (goal <= 1%%), sent %s, late %s, dropped %s: %s\n' \
	"$RATE" "$DURATION" "$achieved" "$dev" "$sent" "$late" "$dropped" "$verdict"
