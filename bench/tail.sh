#!/bin/sh
# Where the p99 of `protected` comes from: one tokengate (dist/main.js, SQLite,
# production) on CPU 0 under wrk on CPU 1 (50 connections, 10 s after a 3 s
# warm-up), with --trace-gc, and the server's scheduler statistics from
# /proc/<pid>/schedstat: time on the CPU, and time runnable but waiting for it
# (other processes on its core). Prints wrk's latency percentiles, that
# split, and the GC pauses by kind. Run it a few times: on a shared machine
# the waiting time moves the p99, the GC does not.
#
#   npm run build && sh bench/tail.sh ["extra node flags"]   # e.g. "--max-semi-space-size=16"
set -eu
cd "$(dirname "$0")/.."
FLAGS=${1:-}
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
PORT=$(node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})")
cat > "$DIR/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"query":"{ protected { loggedInAs } }"}'
wrk.headers["content-type"] = "application/json"
LUA
# The flags npm start gives (package.json "config"), then the extra ones.
NODE_ENV=production JWT_SECRET=$(node -e "console.log(require('crypto').randomBytes(36).toString('base64url'))") HOST=127.0.0.1 PORT=$PORT \
  LOG_LEVEL=warn DATABASE_URL="$DIR/db.sqlite" \
  taskset -c 0 node --max-semi-space-size=4 --max-old-space-size=128 $FLAGS --trace-gc dist/main.js > "$DIR/gc.log" 2>&1 &
PID=$!
until curl -sf "http://127.0.0.1:$PORT/healthz" > /dev/null; do sleep 0.05; done
TOKEN=$(curl -s "http://127.0.0.1:$PORT/graphql" -H 'content-type: application/json' \
  -d '{"query":"mutation { signup(username: \"tail\", password: \"correct horse battery staple\") { accessToken } }"}' | sed 's/.*"accessToken":"\([^"]*\)".*/\1/')
taskset -c 1 wrk -t1 -c50 -d3s -s "$DIR/post.lua" -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/graphql" > /dev/null
L0=$(wc -l < "$DIR/gc.log")
S0=$(cat "/proc/$PID/schedstat")
taskset -c 1 wrk -t1 -c50 -d10s --latency -s "$DIR/post.lua" -H "authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/graphql" > "$DIR/wrk.txt"
S1=$(cat "/proc/$PID/schedstat")
kill "$PID"; wait "$PID" 2> /dev/null || true
echo "protected, 50 connections, 10 s (load average $(cut -d' ' -f1 /proc/loadavg), node flags: ${FLAGS:-none extra})"
grep -E "Requests/sec|^ +(50|90|99)%" "$DIR/wrk.txt" | tr -s ' ' | tr '\n' ' '; echo
echo "$S0 $S1" | awk '{printf "server on the CPU %.2f s; runnable but waiting for the CPU %.2f s\n", ($4-$1)/1e9, ($5-$2)/1e9}'
tail -n +"$((L0 + 1))" "$DIR/gc.log" | grep -E "Scavenge|Mark-Compact|Mark-Sweep" \
  | sed -E "s/.*(Scavenge|Mark-Compact|Minor Mark-Sweep) .* MB, ([0-9.]+) \/ [0-9.]+ ms.*/\1 \2/" \
  | awk '{n[$1]++; s[$1]+=$2; if($2>m[$1])m[$1]=$2} END {for(k in n) printf "GC %s: %d pauses, %.0f ms in all, longest %.1f ms\n", k, n[k], s[k], m[k]}'
