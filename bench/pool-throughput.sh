#!/usr/bin/env bash
# Throughput through the pool at several concurrency caps. For each cap
# (reserved concurrency) it starts `surge serve --functions` with that
# many provisioned instances (so that no cold start muddies the measure)
# at MEMORY MB each, seeds items, and loads GET /items?limit=10 with
# `surge load` twice: closed model with as many users as the cap, then
# open model at twice the rate that run reached.
#
# At the default 128 MB an instance has 0.072 of a CPU (where cgroups
# allow), so its service time is its CPU quota's, and 16 of them still fit
# in this machine's 2 cores beside surge and the load: the rate follows
# the cap, as on Lambda, rather than the machine's CPU. With MEMORY=1769
# two instances fill the machine.
#
# Per run it prints: the load (users, or offered rate); the rate served
# (2xx) and throttled, from the pool's metrics; the clients' mean
# response time and, for the closed run, users / response time (the
# clients' side of Little's law); the mean service time on an instance
# (svc: Lambda's Duration); the mean time an invocation held an instance
# (hold: surge_lambda_busy_seconds_total over the invocations, from
# dispatch to answer); busy, the instances in use on average (the busy
# seconds over the run's time), which the cap bounds; little, the rate
# served over busy / svc, Little's law with the function's own service
# time (goal >= 0.90: the pool costs little beyond the function's
# Duration while it holds an instance); and, for the open run, the rate
# Erlang's loss formula (Erlang B) predicts from the offered rate, the
# cap and the holding time. Lambda queues no synchronous invocation, so
# with arrivals at random an instance that frees waits for the next one
# while others are throttled at once: the pool is a loss system, and busy
# stays under the cap as Erlang B says, not at it.
#
#   bench/pool-throughput.sh                        # caps 1 2 4 8 16, 10 s each
#   CAPS="2 8 16" MEMORY=1769 DURATION=20s bench/pool-throughput.sh
#   FUNCTION_ENV=GOGC=400 bench/pool-throughput.sh   # a variable for the instances
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
printf '%4s %10s %9s %11s %8s %12s %8s %8s %6s %7s %13s\n' cap load "served/s" "throttled/s" "resp ms" "users/resp/s" "svc ms" "hold ms" busy little "Erlang B /s"
for cap in $CAPS; do
	data=$(mktemp -d)
	"$BIN/surge" --log-level warn serve --addr "$ADDR" --admin-addr "$ADMIN" --data "$data" --access-log=false --function-logs=false \
		--functions --function-reserved-concurrency "$cap" --function-provisioned "$cap" \
		--function-memory "$MEMORY" ${FUNCTION_ENV:+--function-env "$FUNCTION_ENV"} >"$OUT/pool-serve-$cap.log" 2>&1 &
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
		busy=$(d 'surge_lambda_busy_seconds_total{function="surge-items"}')
		elapsed=$(jq -r .elapsedSeconds "$OUT/pool-$cap-$run.json" 2>/dev/null || echo "$secs")
		resp=$(jq -r .total.latency.avgMs "$OUT/pool-$cap-$run.json" 2>/dev/null || echo 0)
		served=$(awk -v inv="$inv" -v t="$elapsed" 'BEGIN { print inv / t }')
		awk -v cap="$cap" -v label="$label" -v run="$run" -v inv="$inv" -v thr="$thr" -v ds="$dsum" -v dc="$dcnt" \
			-v t="$elapsed" -v r="$resp" -v bs="$busy" -v offered="${rate:-0}" 'BEGIN {
			rate = inv / t; svc = (dc > 0) ? ds / dc : 0; hold = (inv > 0) ? bs / inv : 0; busy = bs / t
			clients = (run == "closed" && r > 0) ? sprintf("%.0f", cap / r * 1000) : "-"
			# Little law, with the service time of the function itself: the
			# rate the instances in use would serve if holding one cost
			# nothing beyond its Duration.
			little = (svc > 0 && busy > 0) ? sprintf("%.2f", rate / (busy / svc)) : "-"
			# Lambda queues no synchronous invocation: with open arrivals the
			# pool is a loss system, whose carried rate Erlang B gives from
			# the offered rate and the holding time.
			erlang = "-"
			if (run == "open" && hold > 0) {
				a = offered * hold; b = 1
				for (k = 1; k <= cap; k++) b = a * b / (k + a * b)
				erlang = sprintf("%.0f", offered * (1 - b))
			}
			printf "%4d %10s %9.0f %11.0f %8.2f %12s %8.2f %8.2f %6.2f %7s %13s\n", cap, label, rate, thr / t, r, clients,
				svc * 1000, hold * 1000, busy, little, erlang
		}'
	done
	kill "${PIDS[-1]}" 2>/dev/null || true
	wait "${PIDS[-1]}" 2>/dev/null || true
	unset 'PIDS[-1]'
	rm -rf "$data"
done
echo
machine
