#!/usr/bin/env bash
# The server through its gRPC API (docs/benchmarks.md, "Through the API"):
# in one table, the store's durable submit rate with 64 writers (the figure
# of benches/store.sh), then a store filled with N generated questions
# served by `kicer serve` (loopback, no clients configured): time from start
# until Health/Check says SERVING, resident memory after the start and after
# the load, disk per question, and `kicer load api --rpc all` with 1 and 64
# clients (requests/s, share of Health/Check's rate, p50/p99 latency).
#
#   bash benches/api.sh                       # 10,000 questions (~6 minutes)
#   bash benches/api.sh --questions 1000000   # a million: the fill alone takes
#                                             # long (tens of minutes) and ~12 GiB of disk
#   bash benches/api.sh --duration 5          # seconds per phase (default 10)
set -euo pipefail
cd "$(dirname "$0")/.."

questions=10000
duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --questions) questions=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    *) echo "usage: bash benches/api.sh [--questions N] [--duration SECS]" >&2; exit 2 ;;
  esac
done

cargo build --release --quiet
kicer=${CARGO_TARGET_DIR:-$PWD/target}/release/kicer
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

rss_mib() { awk '/^VmRSS:/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status"; }

echo "store: 64 durable writers" >&2
store_rate=$($kicer load submit --data-dir "$work/submit" --writers 64 --count 30000 --record-bytes 1000 \
  | sed -n 's/.* rate=\([0-9]*\)\/s .*/\1/p')
rm -rf "$work/submit"

echo "filling $questions questions" >&2
/usr/bin/time -f "fill: %e s, max RSS %M KiB" $kicer load fill --data-dir "$work/data" --questions "$questions" >&2
disk_kib=$(du -sk "$work/data" | awk '{print $1}')
disk_per_question=$(( disk_kib * 1024 / questions ))

# Starts the server on the filled store and waits until Health/Check says
# SERVING; sets server_pid, address and start_ms.
start_server() {
  local started
  started=$(date +%s%N)
  $kicer serve --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/out" 2>"$work/log" &
  server_pid=$!
  for _ in $(seq 12000); do
    grep -q "listening on" "$work/out" 2>/dev/null && break
    kill -0 "$server_pid" 2>/dev/null || { echo "kicer serve stopped:" >&2; cat "$work/log" >&2; exit 1; }
    sleep 0.01
  done
  address=$(head -1 "$work/out" | awk '{print $4}')
  $kicer load wait-serving --server "http://$address" >/dev/null
  start_ms=$(( ($(date +%s%N) - started) / 1000000 ))
}

# The first start after a fill has no similar-question snapshot and builds
# the index; every later start loads the snapshot. Both are reported.
start_server
first_start_ms=$start_ms
kill -TERM "$server_pid"; wait "$server_pid" 2>/dev/null || true
start_server
rss_start=$(rss_mib "$server_pid")

for clients in 1 64; do
  echo "load api: $clients client(s), $duration s per phase" >&2
  $kicer load api --server "http://$address" --rpc all --clients "$clients" --duration "$duration" >"$work/api-$clients"
done
rss_load=$(rss_mib "$server_pid")

# One row per RPC from a `load api` table: rate (ratio) and p50 / p99.
figure() { # file rpc column: rate | latency
  awk -v rpc="$2" -v what="$3" '$1 == rpc {
    if (what == "rate") printf "%s/s (%s of health)", $5, $10; else printf "%s / %s ms", $6, $7 }' "$1"
}

row() { printf "%-40s %-28s %s\n" "$1" "$2" "$3"; }
echo
echo "kicer through the API: $questions questions, loopback, $duration s per phase"
row "measure" "1 client" "64 clients"
row "durable submits, store (64 writers)" "" "$store_rate/s"
row "first start (builds similar index)" "$first_start_ms ms" ""
row "start until SERVING" "$start_ms ms" ""
row "resident memory after start" "$rss_start" ""
row "resident memory after the load" "" "$rss_load"
row "disk per question" "$disk_per_question bytes" ""
for rpc in submit classify get queue similar leadtimes; do
  row "$rpc rate" "$(figure "$work/api-1" "$rpc" rate)" "$(figure "$work/api-64" "$rpc" rate)"
  row "$rpc p50 / p99" "$(figure "$work/api-1" "$rpc" latency)" "$(figure "$work/api-64" "$rpc" latency)"
done
