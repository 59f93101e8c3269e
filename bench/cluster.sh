#!/usr/bin/env bash
# The cluster benchmark: installs PostgreSQL and etcd from the Debian packages if they are
# missing (and protoc, which building the etcd client needs), then runs
# `cargo bench -p darkstar-examples --bench cluster`, which starts both engines itself on
# loopback with fresh data directories and stops them at the end.
#
#   bash bench/cluster.sh [-- --seconds N --connections N --depth N --nodes 0,1,2,3 --alphas 0,1.5]
set -euo pipefail
cd "$(dirname "$0")/.."

sudo_if_needed() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

missing=()
ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing+=(postgresql)
[ -x /usr/bin/etcd ] || command -v etcd >/dev/null 2>&1 || missing+=(etcd-server)
command -v protoc >/dev/null 2>&1 || missing+=(protobuf-compiler)
[ -f /usr/include/google/protobuf/descriptor.proto ] || missing+=(libprotobuf-dev)
if [ "${#missing[@]}" -gt 0 ]; then
    echo "== installing ${missing[*]}"
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get update -q
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
fi

[ "${1:-}" = "--" ] && shift
cargo bench -p darkstar-examples --bench cluster -- "$@"
