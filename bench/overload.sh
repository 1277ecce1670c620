#!/usr/bin/env bash
# bench/overload.sh: graceful overload. Measures the capacity of `surge
# serve` (SQLite, default settings) on this machine with surge load, then
# sends 1x, 2x and 5x that rate (open model) for SPIKE each and prints, for
# each level, the shed rate (503s), the admitted requests' p99 and the
# recovery time, in three modes in the same run: surge's defaults
# (admission control and the API listener's bound on connections), the
# admission control alone (--http-max-conns 0), and neither (the
# baseline), with the ratios of the defaults to the baseline. The
# recovery time is probed with normal requests (GET /items?limit=1), 100
# a second from the spike's end while surge load goes on at half the
# capacity: the time from the spike's end to the first request after which
# every one succeeded (a 200 within TIMEOUT). A request with no answer
# within TIMEOUT failed.
#
#   bench/overload.sh                       # 8 s spikes, 4 s after each
#   SPIKE=15s TAIL=5s bench/overload.sh     # whole seconds
#
# The workload is one whose bottleneck is the service, not the load
# generator that shares its two cores: lists of 250 items of 256 B (about
# 100 KB a response, read from SQLite's few read connections), so that a
# refusal costs the generator and the service far less than an answer.
# Capacity is the closed-model saturation throughput (64 users for CAP_FOR)
# of that workload: the rate the service completes when it is never idle.
# The open model may keep up to MAX_INFLIGHT requests outstanding, so that
# the generator itself bounds nothing.
# Goals: at 5x, admitted p99 bounded (well under TIMEOUT), recovery within
# 1 s, and peak memory bounded; the baseline shows what happens without.
cd "$(dirname "$0")/.."
. bench/load-lib.sh

SPIKE=${SPIKE:-8s}
TAIL=${TAIL:-4s}
CAP_FOR=${CAP_FOR:-5s}
TIMEOUT=${TIMEOUT:-1s}
MIX=${MIX:-list=1}
LIST_QUERY=${LIST_QUERY:-limit=250}
PAYLOADS=${PAYLOADS:-256B=1}
PRESEED=${PRESEED:-1000}
MAX_INFLIGHT=${MAX_INFLIGHT:-15000}
MODES=${MODES:-defaults admission baseline}
LEVELS=${LEVELS:-1 2 5}
ADDR=127.0.0.1:18095
URL="http://$ADDR"

log "building surge and the summariser into $BIN"
go build -o "$BIN/surge" ./cmd/surge
go build -o "$BIN/overload" ./bench/overload

# serve ARGS...: a fresh `surge serve` on ADDR holding PRESEED items; sets
# SERVE_PID.
serve() {
	local data
	data=$(mktemp -d)
	TMPDIRS+=("$data")
	"$BIN/surge" serve --addr "$ADDR" --admin-addr "" --data "$data" --access-log=false "$@" >"$OUT/overload-serve.log" 2>&1 &
	SERVE_PID=$!
	PIDS+=("$SERVE_PID")
	wait_http "$URL/healthz"
	"$BIN/surge" load --mix create=1 --payloads "$PAYLOADS" --requests "$PRESEED" --rate 2000 --preseed 0 \
		--progress none "$URL" >/dev/null
}

stop_serve() {
	kill "$SERVE_PID" 2>/dev/null || true
	wait "$SERVE_PID" 2>/dev/null || true
}

# peak_rss_mb: the serving process's peak resident memory, in MB.
peak_rss_mb() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVE_PID/status"; }

spike_s=${SPIKE%s}
tail_s=${TAIL%s}
common=(--mix "$MIX" --list-query "$LIST_QUERY" --payloads "$PAYLOADS" --preseed 0 --timeout "$TIMEOUT"
	--max-inflight "$MAX_INFLIGHT" --progress none)

log "capacity: closed model, 64 users for $CAP_FOR"
serve
"$BIN/surge" load --model closed --vus 64 --duration "$CAP_FOR" "${common[@]}" --out "$OUT/overload-cap.json" "$URL" >/dev/null
stop_serve
cap=$(jqr "$OUT/overload-cap.json" '.achievedRate | floor')
log "capacity: $cap requests a second"
half=$((cap / 2))

declare -A fig
for level in $LEVELS; do
	rate=$((cap * level))
	for mode in $MODES; do
		args=()
		case $mode in
		admission) args=(--http-max-conns 0) ;;
		baseline) args=(--admission=false --http-max-conns 0) ;;
		esac
		log "${level}x ($rate/s) for $SPIKE, $mode"
		serve "${args[@]}"
		"$BIN/surge" load --start-rate "$rate" --stages "$SPIKE:$rate" "${common[@]}" \
			--out "$OUT/overload-$level-$mode-spike.json" "$URL" >/dev/null || true
		rss=$(peak_rss_mb)
		sleep 2
		# The same spike again, then half the capacity, with the probe of
		# normal requests beside it.
		"$BIN/overload" probe "$URL/items?limit=1" "$((spike_s + tail_s + 1))s" >"$OUT/overload-$level-$mode-probe.txt" &
		probe=$!
		"$BIN/surge" load --start-rate "$rate" --stages "$SPIKE:$rate,1ms:$half,$TAIL:$half" "${common[@]}" \
			--out "$OUT/overload-$level-$mode-recovery.json" "$URL" >/dev/null || true
		wait "$probe"
		stop_serve
		rec=$("$BIN/overload" recovery "$OUT/overload-$level-$mode-recovery.json" "$OUT/overload-$level-$mode-probe.txt" \
			"$SPIKE" 2>"$OUT/overload-$level-$mode-probe.log")
		fig[$level-$mode]="$("$BIN/overload" summary "$OUT/overload-$level-$mode-spike.json") $rec $rss"
	done
done

printf '\n%s\n' "$(machine)"
printf 'capacity %s req/s (closed model, 64 users, mix %s, %s, %s items); spikes of %s; recovery probed at 100 GET /items?limit=1 a second\n' \
	"$cap" "$MIX" "$LIST_QUERY" "$PAYLOADS" "$SPIKE"
printf 'beside %s at %s req/s after the spike; a request with no answer within %s failed\n\n' "$TAIL" "$half" "$TIMEOUT"
printf '%-5s %-10s %9s %8s %7s %7s %8s %13s %11s %10s %11s %8s\n' level mode offered/s sent/s shed failed served/s \
	admitted_p99 server_p99 gen_lag99 recovery peak_rss
served() { awk -v a="$1" -v s="$2" -v f="$3" 'BEGIN { printf "%.0f", a * (1 - s - f) }'; }
for level in $LEVELS; do
	for mode in $MODES; do
		read -r offered achieved shed failed p99 sp99 lag rec rss <<<"${fig[$level-$mode]}"
		printf '%-5s %-10s %9s %8s %6.1f%% %6.1f%% %8s %10s ms %8s ms %7s ms %8s ms %5s MB\n' "${level}x" "$mode" "$offered" \
			"$achieved" "$(awk -v s="$shed" 'BEGIN { print s * 100 }')" "$(awk -v s="$failed" 'BEGIN { print s * 100 }')" \
			"$(served "$achieved" "$shed" "$failed")" "$p99" "$sp99" "$lag" "$rec" "$rss"
	done
done
case " $MODES " in *" defaults "*" baseline "*) ;; *) exit 0 ;; esac
printf '\nratios, defaults / baseline\n'
for level in $LEVELS; do
	read -r _ aa sa fa p99a _ _ _ rssa <<<"${fig[$level-defaults]}"
	read -r _ ab sb fb p99b _ _ _ rssb <<<"${fig[$level-baseline]}"
	printf '  %sx: served %s, admitted p99 %s, peak memory %s\n' "$level" \
		"$(ratio "$(served "$aa" "$sa" "$fa")" "$(served "$ab" "$sb" "$fb")")" "$(ratio "$p99a" "$p99b")" "$(ratio "$rssa" "$rssb")"
done
