#!/usr/bin/env bash
# The network benchmark with its peers: installs PostgreSQL and Redis from the Debian
# packages if they are missing, starts both on loopback with fresh data directories
# (PostgreSQL with fsync and synchronous_commit on, Redis with appendfsync always), runs
# `cargo bench -p darkstar-examples --bench network`, and stops them.
#
#   bash bench/network.sh [-- --seconds N --connections N --depth N]
set -euo pipefail
cd "$(dirname "$0")/.."

PG_PORT=${PG_PORT:-5433}
REDIS_PORT=${REDIS_PORT:-6380}

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

pg_bin() {
    local dir
    dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    [ -n "$dir" ] && [ -x "$dir/postgres" ] && echo "$dir"
}

if [ -z "$(pg_bin)" ] || ! command -v redis-server >/dev/null 2>&1; then
    echo "== installing postgresql and redis-server"
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -q
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql redis-server
fi
PG_BIN=$(pg_bin)

WORK=$(mktemp -d)
# PostgreSQL refuses to run as root: run it as the postgres user then.
if [ "$(id -u)" -eq 0 ]; then
    chown postgres "$WORK"
    as_pg() { runuser -u postgres -- "$@"; }
else
    as_pg() { "$@"; }
fi

cleanup() {
    as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -m fast stop >/dev/null 2>&1 || true
    if [ -f "$WORK/redis.pid" ]; then kill "$(cat "$WORK/redis.pid")" 2>/dev/null || true; fi
    sleep 1
    rm -rf "$WORK"
}
trap cleanup EXIT

echo "== starting PostgreSQL on 127.0.0.1:${PG_PORT}"
as_pg "$PG_BIN/initdb" -D "$WORK/pg" -U bench --auth=trust >/dev/null
as_pg "$PG_BIN/pg_ctl" -D "$WORK/pg" -l "$WORK/pg.log" -w start -o \
    "-c listen_addresses=127.0.0.1 -c port=${PG_PORT} -c unix_socket_directories=$WORK \
     -c max_connections=200 -c shared_buffers=1GB -c fsync=on -c synchronous_commit=on \
     -c full_page_writes=on" >/dev/null
as_pg "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U bench bench

echo "== starting Redis on 127.0.0.1:${REDIS_PORT}"
mkdir -p "$WORK/redis"
redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$WORK/redis" --appendonly yes \
    --appendfsync always --save "" --daemonize yes --pidfile "$WORK/redis.pid" \
    --logfile "$WORK/redis.log"
for _ in $(seq 50); do
    redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    sleep 0.1
done

export DARKSTAR_BENCH_POSTGRES="host=127.0.0.1 port=${PG_PORT} user=bench dbname=bench"
export DARKSTAR_BENCH_REDIS="redis://127.0.0.1:${REDIS_PORT}"
[ "${1:-}" = "--" ] && shift
cargo bench -p darkstar-examples --bench network -- "$@"
