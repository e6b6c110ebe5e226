#!/usr/bin/env bash
# The Redis baseline of issue 6: Redis with appendfsync always under the load of
# `bench run --profile single-sync-flush` (64 clients, 128 B SET). Needs redis-server and
# redis-benchmark (apt-get install redis-server). The AOF goes under ./.flushbench-store, on
# the same disk as our brokers' stores.
#   npm run bench:redis [-- always|everysec]
set -euo pipefail
fsync_policy="${1:-always}"
port=6399
dir="$(pwd)/.flushbench-store/redis-$$"
command -v redis-server >/dev/null && command -v redis-benchmark >/dev/null || {
  echo "redis-server and redis-benchmark are needed: apt-get install redis-server" >&2; exit 2; }
mkdir -p "$dir"
cleanup() { redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"; }
trap cleanup EXIT
redis-server --port "$port" --bind 127.0.0.1 --dir "$dir" --appendonly yes --appendfsync "$fsync_policy" \
  --save "" --daemonize yes --logfile "$dir/redis.log" >/dev/null
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
echo "redis $(redis-server --version | grep -o 'v=[^ ]*') appendfsync $fsync_policy, 64 clients, 128 B SET, store $dir"
redis-benchmark -p "$port" -c 64 -d 128 -t set -n 600000 -q 2>&1 | tr '\r' '\n' | grep -E '^SET: [0-9]'
