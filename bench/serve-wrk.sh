#!/usr/bin/env bash
# Loads `surge serve` (SQLite, default settings) with wrk, side by side in
# the same run with two baselines: a minimal Go net/http server returning
# 100 bytes, and PocketBase v0.39 (bench/pocketbase, built from the Go
# module proxy, pinned, on a throwaway data directory) serving the same
# record by id. It prints each rate, the server's CPU time per request and
# the ratios; every figure is the median of ROUNDS rounds that alternate
# the targets, so that a noisy neighbour weighs on each alike.
#
# The minimal server is loaded with the same wrk script as each surge
# request, so that wrk's own cost per request is the same on both sides
# of a ratio. wrk is a closed-model tool: its p99 at the maximum rate is
# mostly queueing behind its own connections, so the latency goal is
# measured where it is stated, at the goal rate: `surge load` sends GETs at
# 70% and POSTs at 45% of the minimal server's rate (an open model, timed
# from each request's intended send time) and reports p99; and again at
# half of the rate surge reached under wrk.
#
#   bench/serve-wrk.sh                       # 3 rounds of 10 s per target
#   ROUNDS=5 DURATION=20s bench/serve-wrk.sh
#   POCKETBASE=0 bench/serve-wrk.sh          # without PocketBase
#   SURGE=/tmp/surge-before bench/serve-wrk.sh   # a binary built elsewhere
#   PROFILE=1 bench/serve-wrk.sh             # and surge's CPU and allocation
#                                            # profiles, per request
#
# Goals on a 2-core machine with wrk on the same machine: GET /items/{id}
# at >= 0.70 of the minimal server's rate and >= 5x PocketBase's, POST
# /items (--sync normal) at >= 0.45, p99 under 10 ms at those rates.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-1}
ROUNDS=${ROUNDS:-3}
ITEMS=${ITEMS:-1000}
POCKETBASE=${POCKETBASE:-1}
PROFILE=${PROFILE:-0}
export SURGE_BENCH_ITEMS=$ITEMS

source bench/wrk/lib.sh

if [ -n "${SURGE:-}" ]; then
	cp "$SURGE" "$work/surge"
else
	go build -o "$work/surge" ./cmd/surge
fi
go build -o "$work/minimal" ./bench/minimal

"$work/minimal" -addr 127.0.0.1:18089 2>/dev/null & PIDS+=($!) minimal_pid=$!
# The admin listeners (/debug/pprof/) only for the profiles.
get_admin="" post_admin=""
[ "$PROFILE" = 1 ] && get_admin=127.0.0.1:18082 post_admin=127.0.0.1:18083
"$work/surge" serve --addr 127.0.0.1:18080 --admin-addr "$get_admin" --data "$work/data" 2>/dev/null & PIDS+=($!) get_pid=$!
"$work/surge" serve --addr 127.0.0.1:18081 --admin-addr "$post_admin" --data "$work/data2" --sync normal 2>/dev/null & PIDS+=($!) post_pid=$!
wait_up 18089 18080 18081
seed 18080 "$ITEMS"

if [ "$POCKETBASE" = 1 ]; then
	log "building PocketBase (bench/pocketbase, its own module)"
	(cd bench/pocketbase && go build -o "$BIN/pocketbase" .)
	pb=$work/pb
	"$BIN/pocketbase" superuser upsert bench@example.com bench-password-1 --dir "$pb" >/dev/null
	"$BIN/pocketbase" serve --http 127.0.0.1:18095 --dir "$pb" >/dev/null 2>&1 & PIDS+=($!) pb_pid=$!
	for _ in $(seq 100); do curl -sf 127.0.0.1:18095/api/health -o /dev/null && break; sleep 0.1; done
	token=$(curl -sf -X POST 127.0.0.1:18095/api/collections/_superusers/auth-with-password -H 'Content-Type: application/json' \
		-d '{"identity":"bench@example.com","password":"bench-password-1"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["token"])')
	# A public collection of the same item (name, price, note), read by id.
	curl -sf -X POST 127.0.0.1:18095/api/collections -H "Authorization: $token" -H 'Content-Type: application/json' -o /dev/null \
		-d '{"name":"items","type":"base","listRule":"","viewRule":"","fields":[{"name":"name","type":"text"},{"name":"price","type":"number"},{"name":"note","type":"text"}]}'
	note=$(printf 'x%.0s' {1..160})
	for ((i = 0; i < ITEMS; i++)); do
		printf 'url = "http://127.0.0.1:18095/api/collections/items/records"\nheader = "Authorization: %s"\nheader = "Content-Type: application/json"\ndata = "{\\"id\\":\\"b%014d\\",\\"name\\":\\"item %d\\",\\"price\\":12.5,\\"note\\":\\"%s\\"}"\noutput = /dev/null\n' "$token" "$i" "$i" "$note"
		[ $((i + 1)) -lt "$ITEMS" ] && echo next
	done >"$work/pb-seed.curl"
	curl -sf -K "$work/pb-seed.curl"
	curl -sf "127.0.0.1:18095/api/collections/items/records/b$(printf %014d 1)" -o /dev/null
fi

declare -A rates cpus p99s
run() { # run KEY URL LUA PID: one measurement, kept under KEY
	local rate p99 cpu
	read -r rate p99 cpu < <(measure "$1" "$2" "$3" "$4")
	rates[$1]+="$rate " cpus[$1]+="$cpu " p99s[$1]+="$p99 "
	grep -h "Non-2xx" "$work/$1.txt" | sed "s/^/WARNING: $1: /" >&2 || true
}
for ((round = 1; round <= ROUNDS; round++)); do
	run minimal-get http://127.0.0.1:18089 bench/wrk/get.lua "$minimal_pid"
	run get http://127.0.0.1:18080 bench/wrk/get.lua "$get_pid"
	[ "$POCKETBASE" = 1 ] && run pocketbase http://127.0.0.1:18095 bench/wrk/get-pocketbase.lua "$pb_pid"
	run minimal-post http://127.0.0.1:18089 bench/wrk/post.lua "$minimal_pid"
	run post http://127.0.0.1:18081/items bench/wrk/post.lua "$post_pid"
	log "round $round: $(for k in minimal-get get pocketbase minimal-post post; do [ -n "${rates[$k]:-}" ] && printf '%s %.0f/s  ' "$k" "$(echo ${rates[$k]} | awk '{print $NF}')"; done)"
done
for k in "${!rates[@]}"; do
	# Each holds the rounds' figures, split into median's arguments.
	rates[$k]=$(median ${rates[$k]}) cpus[$k]=$(median ${cpus[$k]}) p99s[$k]=$(median ${p99s[$k]})
done

# p99 at the goal rates, on the --sync normal server (a fresh database per
# run), with surge load's open model.
goalrun() {
	local name=$1 rate=$2 mix=$3
	"$work/surge" load --rate "$rate" --duration "$DURATION" --mix "$mix" --payloads 256B=1 \
		--preseed "$ITEMS" --progress none --out "$work/$name.json" http://127.0.0.1:18081 >"$work/$name.load.txt" 2>&1 || true
	python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); o=r["ops"][0]; print("%.0f %.2f %d" % (r["achievedRate"], o["latency"]["p99Ms"], o["errors"]))' "$work/$name.json"
}
read -r get_rate get_goal_p99 get_errs < <(goalrun get-goal "$(awk -v m="${rates[minimal-get]}" 'BEGIN {printf "%d", m*0.70}')" read=1)
read -r post_rate post_goal_p99 post_errs < <(goalrun post-goal "$(awk -v m="${rates[minimal-post]}" 'BEGIN {printf "%d", m*0.45}')" create=1)
# And at half of the rate surge itself reached under wrk: surge load shares
# the two cores with the server, so a goal rate above what the server
# sustains measures its queue, not its latency.
read -r get_half get_half_p99 get_half_errs < <(goalrun get-half "$(awk -v m="${rates[get]}" 'BEGIN {printf "%d", m*0.5}')" read=1)
read -r post_half post_half_p99 post_half_errs < <(goalrun post-half "$(awk -v m="${rates[post]}" 'BEGIN {printf "%d", m*0.5}')" create=1)

printf '\nwrk -t%s -c%s -d%s, medians of %s rounds; %s\n' "$THREADS" "$CONNS" "$DURATION" "$ROUNDS" "$(machine)"
printf '%-30s %10s %10s %12s %8s %10s\n' "highest rate (wrk)" req/s p99_ms cpu_us/req ratio goal
row() { awk -v n="$1" -v r="${rates[$2]}" -v p="${p99s[$2]}" -v c="${cpus[$2]}" -v b="${3:-}" -v g="$4" \
	'BEGIN {printf "%-30s %10.0f %10.2f %12.1f %8s %10s\n", n, r, p, c, (b == "") ? "1.00" : sprintf("%.2f", r / b), g}'; }
row "minimal, GET script" minimal-get "" -
row "GET /items/{id}" get "${rates[minimal-get]}" ">=0.70"
if [ "$POCKETBASE" = 1 ]; then
	row "PocketBase v0.39 GET record" pocketbase "${rates[minimal-get]}" -
	awk -v s="${rates[get]}" -v p="${rates[pocketbase]}" 'BEGIN {printf "%-30s %10s %10s %12s %8.2f %10s\n", "GET: surge over PocketBase", "", "", "", s / p, ">=5"}'
fi
row "minimal, POST script" minimal-post "" -
row "POST /items (--sync normal)" post "${rates[minimal-post]}" ">=0.45"
printf '\n%-30s %10s %10s %8s %8s\n' "at the goal rate" req/s p99_ms errors goal
printf '%-30s %10s %10s %8s %8s\n' "GET /items/{id}" "$get_rate" "$get_goal_p99" "$get_errs" "p99<10"
printf '%-30s %10s %10s %8s %8s\n' "POST /items" "$post_rate" "$post_goal_p99" "$post_errs" "p99<10"
printf '%-30s %10s %10s %8s %8s\n' "GET, half of surge's rate" "$get_half" "$get_half_p99" "$get_half_errs" "p99<10"
printf '%-30s %10s %10s %8s %8s\n' "POST, half of surge's rate" "$post_half" "$post_half_p99" "$post_half_errs" "p99<10"

if [ "$PROFILE" = 1 ]; then
	profile get http://127.0.0.1:18080 bench/wrk/get.lua "$get_admin"
	profile post http://127.0.0.1:18081/items bench/wrk/post.lua "$post_admin"
fi
