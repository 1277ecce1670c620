# Shared by bench/serve-wrk.sh and bench/gateway-wrk.sh (sourced, not run):
# wrk setup, start-up waits, item seeding and one measurement, beside
# bench/lib.sh's common parts. $work is a directory of the run's own.

. bench/lib.sh
need_wrk

work=$(mktemp -d)
TMPDIRS+=("$work")

# wait_up PORT...: waits until each port answers HTTP.
wait_up() {
	for port in "$@"; do
		for _ in $(seq 100); do curl -s "127.0.0.1:$port/healthz" -o /dev/null && break; sleep 0.05; done
	done
}

# seed PORT N: creates items b0 .. b<N-1> (what bench/wrk/get.lua reads), 25 per batch request.
seed() {
	local port=$1 n=$2 i j ops note
	note=$(printf 'x%.0s' {1..160})
	for ((i = 0; i < n; i += 25)); do
		ops=""
		for ((j = i; j < i + 25 && j < n; j++)); do
			ops+="${ops:+,}{\"op\":\"create\",\"id\":\"b$j\",\"item\":{\"name\":\"item $j\",\"price\":12.5,\"note\":\"$note\"}}"
		done
		curl -sf -X POST "127.0.0.1:$port/items/_batch" -H 'Content-Type: application/json' -d "{\"operations\":[$ops]}" -o /dev/null
	done
}

# cpu_ticks PID: the CPU time (user + system) the process has used, in
# clock ticks.
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

# measure NAME URL [LUA [PID]]: runs wrk (THREADS, CONNS, DURATION), keeps
# its output in $work/NAME.txt and prints "rate p99_ms", and with PID, the
# server's CPU time per request in microseconds as a third field: a figure
# that a noisy neighbour on a shared machine moves far less than the rate.
measure() {
	local name=$1 url=$2 lua=${3:-} pid=${4:-}
	local args=(-t"$THREADS" -c"$CONNS" -d"$DURATION" --latency)
	[ -n "$lua" ] && args+=(-s "$lua")
	local t0=0 t1=0
	[ -n "$pid" ] && t0=$(cpu_ticks "$pid")
	wrk "${args[@]}" "$url" >"$work/$name.txt"
	[ -n "$pid" ] && t1=$(cpu_ticks "$pid")
	local rate p99 n
	rate=$(awk '/Requests\/sec/ {print $2}' "$work/$name.txt")
	p99=$(awk '$1 == "99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v/=1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v*=1000}; print v}' "$work/$name.txt")
	if [ -n "$pid" ]; then
		n=$(awk '/requests in/ {print $1}' "$work/$name.txt")
		awk -v r="$rate" -v p="$p99" -v d=$((t1 - t0)) -v n="$n" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%s %s %.2f\n", r, p, d / hz * 1e6 / n}'
	else
		echo "$rate $p99"
	fi
}

# profile NAME URL LUA ADMIN: one more wrk run at a surge server, during
# which its CPU and allocation profiles are taken from its admin listener
# (ADMIN, host:port) for PROFILE_SECONDS, the run's first and last second
# left out; it keeps them as $OUT/NAME.cpu.pprof and $OUT/NAME.allocs.pprof
# and prints them with what one request costs (print_profile, bench/lib.sh).
PROFILE_SECONDS=${PROFILE_SECONDS:-8}
profile() {
	local name=$1 url=$2 lua=$3 admin=$4
	local cpu=$OUT/$name.cpu.pprof allocs=$OUT/$name.allocs.pprof
	wrk -t"$THREADS" -c"$CONNS" -d"$((PROFILE_SECONDS + 2))s" -s "$lua" "$url" >"$work/$name.profile.txt" & local wrk_pid=$!
	sleep 1
	curl -sf "http://$admin/debug/pprof/profile?seconds=$PROFILE_SECONDS" -o "$cpu" & local cpu_pid=$!
	curl -sf "http://$admin/debug/pprof/allocs?seconds=$PROFILE_SECONDS" -o "$allocs"
	wait "$cpu_pid" "$wrk_pid"
	local rate
	rate=$(awk '/Requests\/sec/ {print $2}' "$work/$name.profile.txt")
	print_profile "$name" "$cpu" "$allocs" "$(awk -v r="$rate" -v s="$PROFILE_SECONDS" 'BEGIN {printf "%d", r * s}')" \
		"$(printf '%s s under wrk at %.0f req/s' "$PROFILE_SECONDS" "$rate")"
}
