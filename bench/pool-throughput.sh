#!/usr/bin/env bash
# Throughput through the pool at several concurrency caps. For each cap
# (reserved concurrency) it starts `surge serve --functions` with that
# many provisioned instances (so that no cold start muddies the measure)
# at MEMORY MB each, seeds items, and loads GET /items?limit=10 with
# `surge load` twice: closed model with as many users as the cap, then
# open model at twice the rate that run reached. Little's law says the
# rate the pool serves is the requests in it over the time each takes
# (rate = concurrency / response time): the first run's users / response
# time is its rate; in the second the pool serves about the same rate,
# the cap's, and throttles (429) the rest, at once.
#
# At the default 128 MB an instance has 0.072 of a CPU (where cgroups
# allow), so its service time is its CPU quota's, and 16 of them still fit
# in this machine's 2 cores beside surge and the load: the rate follows
# the cap, as on Lambda, rather than the machine's CPU. With MEMORY=1769
# two instances fill the machine.
#
# Per run it prints: the load (users, or offered rate); the rate served
# (2xx) and throttled, from the pool's metrics; the clients' mean
# response time and, for the closed run, users / response time, the rate
# Little's law predicts; the mean service time on an instance (Lambda's
# Duration); rate x service time, the instances busy on average, which
# the cap bounds; and cap / service time, the most the cap allows at that
# service time.
#
#   bench/pool-throughput.sh                        # caps 1 2 4 8 16, 10 s each
#   CAPS="2 8 16" MEMORY=1769 DURATION=20s bench/pool-throughput.sh
cd "$(dirname "$0")/.."
. bench/pool-lib.sh

CAPS=${CAPS:-"1 2 4 8 16"}
MEMORY=${MEMORY:-128}
DURATION=${DURATION:-10s}
ADDR=${ADDR:-127.0.0.1:18180}
ADMIN=${ADMIN:-127.0.0.1:19190}
build_functions
secs=$(awk -v d="$DURATION" 'BEGIN { sub(/s$/, "", d); print d }')

printf '\nthroughput through the pool, GET /items?limit=10, %s MB instances, %s per run\n' "$MEMORY" "$DURATION"
printf '%4s %10s %10s %12s %9s %13s %11s %11s %11s\n' cap load "served/s" "throttled/s" "resp ms" "users/resp/s" "service ms" "rate x svc" "cap/svc /s"
for cap in $CAPS; do
	data=$(mktemp -d)
	"$BIN/surge" --log-level warn serve --addr "$ADDR" --admin-addr "$ADMIN" --data "$data" --access-log=false --function-logs=false \
		--functions --function-reserved-concurrency "$cap" --function-provisioned "$cap" \
		--function-memory "$MEMORY" >"$OUT/pool-serve-$cap.log" 2>&1 &
	PIDS+=($!)
	for _ in $(seq 200); do curl -fs -o /dev/null "http://$ADDR/healthz" && break; sleep 0.05; done
	"$BIN/surge" load --model closed --vus 1 -n 100 --mix create=1 --preseed 0 --progress none \
		"http://$ADDR" >/dev/null
	served=0
	for run in closed open; do
		args=(--model closed --vus "$cap")
		label="$cap users"
		if [ "$run" = open ]; then
			rate=$(awk -v r="$served" 'BEGIN { printf "%.0f", 2 * r }')
			args=(--model open --rate "$rate" --max-inflight $((8 * cap + 16)))
			label="$rate/s"
		fi
		curl -fs "http://$ADMIN/metrics" >"$OUT/pool-m0.txt"
		"$BIN/surge" load "${args[@]}" --duration "$DURATION" --mix list=1 --list-query limit=10 \
			--preseed 0 --progress none --out "$OUT/pool-$cap-$run.json" "http://$ADDR" >/dev/null || true
		curl -fs "http://$ADMIN/metrics" >"$OUT/pool-m1.txt"
		d() { awk -v a="$(metric_value "$OUT/pool-m1.txt" "$1")" -v b="$(metric_value "$OUT/pool-m0.txt" "$1")" 'BEGIN { print a - b }'; }
		inv=$(d 'surge_lambda_invocations_total{function="surge-items"}')
		thr=$(d 'surge_lambda_throttles_total{function="surge-items",reason="ReservedFunctionConcurrentInvocationLimitExceeded"}')
		dsum=$(d 'surge_lambda_duration_seconds_sum{function="surge-items"}')
		dcnt=$(d 'surge_lambda_duration_seconds_count{function="surge-items"}')
		elapsed=$(jq -r .elapsedSeconds "$OUT/pool-$cap-$run.json" 2>/dev/null || echo "$secs")
		resp=$(jq -r .total.latency.avgMs "$OUT/pool-$cap-$run.json" 2>/dev/null || echo 0)
		served=$(awk -v inv="$inv" -v t="$elapsed" 'BEGIN { print inv / t }')
		awk -v cap="$cap" -v label="$label" -v run="$run" -v inv="$inv" -v thr="$thr" -v ds="$dsum" -v dc="$dcnt" -v t="$elapsed" -v r="$resp" 'BEGIN {
			rate = inv / t; svc = (dc > 0) ? ds / dc : 0
			little = (run == "closed" && r > 0) ? sprintf("%.0f", cap / r * 1000) : "-"
			printf "%4d %10s %10.0f %12.0f %9.2f %13s %11.2f %11.2f %11.0f\n", cap, label, rate, thr / t, r, little,
				svc * 1000, rate * svc, (svc > 0) ? cap / svc : 0
		}'
	done
	kill "${PIDS[-1]}" 2>/dev/null || true
	wait "${PIDS[-1]}" 2>/dev/null || true
	unset 'PIDS[-1]'
	rm -rf "$data"
done
echo
machine
