#!/usr/bin/env bash
# One SAM application under concurrent requests, on `surge serve --template`
# and, where this machine has them, on `sam local start-api` (the AWS SAM
# CLI, which needs Docker): the same template (examples/$EXAMPLE, at the
# article's starting point: no provisioned concurrency, no API cache, no
# stage throttle), the same table (one dynalite that both reach), the same
# requests sent by curl:
#
#   create        the first POST /items (the create function's cold start)
#   burst-1       CONCURRENCY reads of one item sent at once, nothing warm
#                 yet: the wall time until the last answered, each one's p50
#                 and max
#   serial        SERIAL reads one after another: p50 and p99
#   burst-2       CONCURRENCY reads at once again, after the serial ones
#   non-2xx       answers other than 2xx, of all of them
#   cold          the cold starts the target counted (surge's /metrics; sam
#                 local counts none)
#
# sam local runs once per mode of SAM_WARM: "none" (a container per
# request, SAM CLI's default) and LAZY or EAGER (--warm-containers: one
# container per function, kept). Without sam or a running Docker, its rows
# say why, and the README's comparison on paper stands in for them.
#
# surge's cold starts share this machine's cores, where each of Lambda's
# has CPU of its own: more Python inits with boto3 at once than the cores
# can run pass Lambda's 10-second init limit on a busy machine, then their
# retries within the invocations the function timeout, and fail as Lambda
# fails them (Sandbox.Timedout; non-2xx here, and every instance started
# again by burst-2). Keep CONCURRENCY near the number of cores to measure
# cold starts rather than the CPU.
#
#   bench/runtimes-samlocal.sh                        # python-crud, 4 at once, 20 in a row
#   EXAMPLE=node-crud CONCURRENCY=8 bench/runtimes-samlocal.sh
#   SAM_WARM="none LAZY EAGER" bench/runtimes-samlocal.sh
cd "$(dirname "$0")/.."
. bench/lib.sh

EXAMPLE=${EXAMPLE:-python-crud}
CONCURRENCY=${CONCURRENCY:-4}
SERIAL=${SERIAL:-20}
SAM_WARM=${SAM_WARM:-"none LAZY"}
OVERRIDES="ProvisionedConcurrency=0 ApiCache=false StageThrottleRate=0"
TEMPLATE=examples/$EXAMPLE/template.yaml
# surge names a table STACK-LOGICALID, the stack being the template's
# directory (internal/local/sam); sam local is told the same name.
TABLE=$EXAMPLE-ItemsTable

[ -f "$TEMPLATE" ] || { log "no $TEMPLATE"; exit 1; }
command -v curl >/dev/null || { log "curl is needed"; exit 1; }
[ -x tools/dynalite/node_modules/.bin/dynalite ] || { log "dynalite is not installed: run scripts/setup"; exit 1; }
if [ "$EXAMPLE" = node-crud ] && [ ! -d examples/node-crud/node_modules ]; then
	log "the Node.js example's SDK is not installed: run scripts/setup"
	exit 1
fi

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# wait_http URL: until something answers there (at most 120 s).
wait_http() {
	for _ in $(seq 1200); do
		curl -s -o /dev/null "$1" && return 0
		sleep 0.1
	done
	log "nothing answers at $1"
	return 1
}

# stats FILE: "p50 p99 max" in ms of the seconds in FILE's second column.
stats() {
	awk '{ print $2 * 1000 }' "$1" | sort -n | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "- - -"; exit }
		i50 = int((NR - 1) * 0.50) + 1; i99 = int((NR - 1) * 0.99) + 1
		printf "%.0f %.0f %.0f\n", v[i50], v[i99], v[NR] }'
}

# burst URL FILE: CONCURRENCY GETs sent at once, each one's status and
# seconds appended to FILE; prints the wall time in ms.
burst() {
	local pids=() start end
	start=$(date +%s%N)
	for _ in $(seq "$CONCURRENCY"); do
		curl -s -o /dev/null --max-time 120 -w '%{http_code} %{time_total}\n' "$1" >>"$2" &
		pids+=("$!")
	done
	wait "${pids[@]}"
	end=$(date +%s%N)
	echo $(((end - start) / 1000000))
}

# measure NAME URL [METRICS-URL]: the requests above against URL; one row.
measure() {
	local name=$1 url=$2 metrics=${3:-} dir created id t wall1 wall2 s1p50 s1max ssp50 ssp99 s2p50 s2max bad cold
	dir=$(mktemp -d)
	TMPDIRS+=("$dir")
	created=$(curl -s --max-time 120 -o "$dir/item.json" -w '%{http_code} %{time_total}' -X POST \
		-H 'Content-Type: application/json' -d '{"name": "lamp", "price": 12.5}' "$url/items")
	id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$dir/item.json" 2>/dev/null) || {
		log "$name: the create answered ${created%% *}: $(head -c 300 "$dir/item.json")"
		printf '%-34s create failed (%s)\n' "$name" "${created%% *}"
		return 0
	}
	t=$(awk '{ printf "%.0f", $2 * 1000 }' <<<"$created")
	wall1=$(burst "$url/items/$id" "$dir/burst1")
	for _ in $(seq "$SERIAL"); do
		curl -s -o /dev/null --max-time 120 -w '%{http_code} %{time_total}\n' "$url/items/$id" >>"$dir/serial"
	done
	wall2=$(burst "$url/items/$id" "$dir/burst2")
	read -r s1p50 _ s1max <<<"$(stats "$dir/burst1")"
	read -r ssp50 ssp99 _ <<<"$(stats "$dir/serial")"
	read -r s2p50 _ s2max <<<"$(stats "$dir/burst2")"
	bad=$(cat "$dir/burst1" "$dir/serial" "$dir/burst2" | awk '$1 < 200 || $1 > 299' | wc -l)
	cold=-
	if [ -n "$metrics" ]; then
		cold=$(curl -s "$metrics" | awk '/^surge_lambda_cold_starts_total/ { n += $NF } END { print n + 0 }')
	fi
	printf '%-34s %7s %8s %6s %6s %6s %6s %8s %6s %6s %7s %5s\n' "$name" "$t" "$wall1" "$s1p50" "$s1max" \
		"$ssp50" "$ssp99" "$wall2" "$s2p50" "$s2max" "$bad" "$cold"
}

DPORT=$(free_port)
log "starting dynalite on 127.0.0.1:$DPORT"
tools/dynalite/node_modules/.bin/dynalite --port "$DPORT" >"$OUT/samlocal-dynalite.log" 2>&1 &
PIDS+=("$!")
wait_http "http://127.0.0.1:$DPORT/"

log "building surge"
go build -o "$BIN/surge" ./cmd/surge

printf '\n%s: %s reads at once, %s in a row (ms)\n' "$TEMPLATE" "$CONCURRENCY" "$SERIAL"
printf '%-34s %7s %8s %6s %6s %6s %6s %8s %6s %6s %7s %5s\n' target create burst-1 p50 max \
	serial p99 burst-2 p50 max non-2xx cold

# surge serve --template, the table created in the shared dynalite.
SPORT=$(free_port)
APORT=$(free_port)
data=$(mktemp -d)
TMPDIRS+=("$data")
"$BIN/surge" --log-level warn serve --template "$TEMPLATE" --parameter-overrides "$OVERRIDES" \
	--template-dynamodb-endpoint "http://127.0.0.1:$DPORT" --template-table-capacity on-demand \
	--addr "127.0.0.1:$SPORT" --admin-addr "127.0.0.1:$APORT" --data "$data" \
	--access-log=false --function-logs=false >"$OUT/samlocal-surge.log" 2>&1 &
surge_pid=$!
PIDS+=("$surge_pid")
wait_http "http://127.0.0.1:$SPORT/nowhere" # the gateway's 404: no function runs
measure "surge serve --template" "http://127.0.0.1:$SPORT" "http://127.0.0.1:$APORT/metrics"
kill "$surge_pid"
wait "$surge_pid" 2>/dev/null || true

# sam local start-api, where it can run.
why=
if ! command -v sam >/dev/null; then
	why="the AWS SAM CLI (sam) is not installed"
elif ! command -v docker >/dev/null || ! docker info >/dev/null 2>&1; then
	why="Docker is not running"
fi
for mode in $SAM_WARM; do
	name="sam local start-api"
	[ "$mode" != none ] && name="$name --warm-containers $mode"
	if [ -n "$why" ]; then
		printf '%-34s not run: %s (README: the comparison on paper)\n' "$name" "$why"
		continue
	fi
	# The template as sam local takes it: its code where it is, and the
	# local table's name and endpoint among the functions' variables (sam
	# local sets only the variables a template declares).
	dir=$(mktemp -d)
	TMPDIRS+=("$dir")
	host=127.0.0.1
	net=(--docker-network host)
	if [ "$(uname -s)" != Linux ]; then
		host=host.docker.internal # Docker Desktop: the host, from a container
		net=()
	fi
	python3 - "$TEMPLATE" "$dir/template.yaml" "$PWD/examples/$EXAMPLE" "$TABLE" "http://$host:$DPORT" <<-'EOF'
		import sys
		src, dst, code, table, endpoint = sys.argv[1:]
		text = open(src).read()
		for old, new in (("    CodeUri: .\n", "    CodeUri: %s\n" % code),
		                 ("        TABLE_NAME: !Ref ItemsTable\n",
		                  "        TABLE_NAME: %s\n        AWS_ENDPOINT_URL_DYNAMODB: %s\n" % (table, endpoint))):
		    if old not in text:
		        sys.exit("%s has no %r" % (src, old))
		    text = text.replace(old, new)
		open(dst, "w").write(text)
	EOF
	args=(local start-api -t "$dir/template.yaml" --host 127.0.0.1 --parameter-overrides "$OVERRIDES" "${net[@]}")
	[ "$mode" != none ] && args+=(--warm-containers "$mode")
	port=$(free_port)
	AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 \
		sam "${args[@]}" --port "$port" >"$OUT/samlocal-sam-$mode.log" 2>&1 &
	sam_pid=$!
	PIDS+=("$sam_pid")
	if wait_http "http://127.0.0.1:$port/nowhere"; then # sam's 403: no container runs
		measure "$name" "http://127.0.0.1:$port"
	else
		printf '%-34s did not start (%s)\n' "$name" "$OUT/samlocal-sam-$mode.log"
	fi
	kill "$sam_pid" 2>/dev/null || true
	wait "$sam_pid" 2>/dev/null || true
done
echo
machine
