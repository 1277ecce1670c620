#!/usr/bin/env bash
# Loads `surge serve` (SQLite, default settings) with wrk, side by side with a
# minimal Go net/http server returning 100 bytes, in the same run, and prints
# each rate and the ratios. wrk is a closed-model tool: its p99 at the
# maximum rate is mostly queueing behind its own connections. So the latency
# goal is then measured where it is stated, at the goal rate: `surge load`
# sends GETs at 50% and POSTs at 25% of the minimal server's rate (an open
# model, timed from each request's intended send time) and reports p99.
#
#   bench/serve-wrk.sh            # 10 s per measurement
#   DURATION=30s CONNS=64 bench/serve-wrk.sh
#
# Goals on a 2-core machine with wrk on the same machine: GET /items/{id} at
# >= 50% of the minimal server's rate, POST /items at >= 25%, p99 under 10 ms.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
ITEMS=${ITEMS:-1000}
export SURGE_BENCH_ITEMS=$ITEMS

source bench/wrk/lib.sh

go build -o "$work/surge" ./cmd/surge
go build -o "$work/minimal" ./bench/minimal

"$work/minimal" -addr 127.0.0.1:18089 2>/dev/null & PIDS+=($!)
"$work/surge" serve --addr 127.0.0.1:18080 --admin-addr "" --data "$work/data" 2>/dev/null & PIDS+=($!)
"$work/surge" serve --addr 127.0.0.1:18081 --admin-addr "" --data "$work/data2" 2>/dev/null & PIDS+=($!)
wait_up 18089 18080 18081

seed 18080 "$ITEMS"

read -r minimal minimal_p99 < <(measure minimal http://127.0.0.1:18089/)
read -r get get_p99 < <(measure get http://127.0.0.1:18080 bench/wrk/get.lua)
read -r post post_p99 < <(measure post http://127.0.0.1:18080/items bench/wrk/post.lua)

# p99 at the goal rates, on the second server (a fresh database, so the POST
# load above does not weigh on it), with surge load's open model.
goalrun() {
	local name=$1 rate=$2 mix=$3
	"$work/surge" load --rate "$rate" --duration "$DURATION" --mix "$mix" --payloads 256B=1 \
		--preseed "$ITEMS" --progress none --out "$work/$name.json" http://127.0.0.1:18081 >"$work/$name.load.txt" 2>&1 || true
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); o=r["ops"][0]; print("%.0f %.2f %d" % (r["achievedRate"], o["latency"]["p99Ms"], o["errors"]))' "$work/$name.json"
}
read -r get_rate get_goal_p99 get_errs < <(goalrun get-goal "$(awk -v m="$minimal" 'BEGIN {printf "%d", m*0.5}')" read=1)
read -r post_rate post_goal_p99 post_errs < <(goalrun post-goal "$(awk -v m="$minimal" 'BEGIN {printf "%d", m*0.25}')" create=1)

errors=$(grep -h "Non-2xx" "$work"/get.txt "$work"/post.txt || true)
[ -n "$errors" ] && echo "WARNING: $errors"

printf '\nwrk -t%s -c%s -d%s, %s, %s, %s\n' "$THREADS" "$CONNS" "$DURATION" "$(go env GOOS)/$(go env GOARCH)" "$(nproc) cores" "$(date -u +%Y-%m-%d)"
printf '%-22s %12s %14s %8s %8s\n' "highest rate (wrk)" req/s wrk_p99_ms ratio goal
printf '%-22s %12.0f %14.2f %8s %8s\n' "minimal net/http" "$minimal" "$minimal_p99" "1.00" "-"
awk -v r="$get" -v m="$minimal" -v p="$get_p99" 'BEGIN {printf "%-22s %12.0f %14.2f %8.2f %8s\n", "GET /items/{id}", r, p, r/m, ">=0.50"}'
awk -v r="$post" -v m="$minimal" -v p="$post_p99" 'BEGIN {printf "%-22s %12.0f %14.2f %8.2f %8s\n", "POST /items", r, p, r/m, ">=0.25"}'
printf '\n%-22s %12s %14s %8s %8s\n' "at the goal rate" req/s p99_ms errors goal
printf '%-22s %12s %14s %8s %8s\n' "GET /items/{id}" "$get_rate" "$get_goal_p99" "$get_errs" "p99<10"
printf '%-22s %12s %14s %8s %8s\n' "POST /items" "$post_rate" "$post_goal_p99" "$post_errs" "p99<10"
