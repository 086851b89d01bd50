#!/usr/bin/env bash
# scripts/redis-suite.sh [UNIT...] — runs units of Redis 7.0.15's own Tcl
# test suite against Parley (`make redis-suite`), a fresh durable node for
# each unit, and prints per unit what Parley passes next to what
# redis-server passes with the same flags, and the share.
#
# The suite is not part of this repository (it is Redis's, BSD-licensed, for
# testing only): REDIS_TESTS names its folder (holding run-units.sh), by
# default ../shared/redis-tests beside the checkout. Without it the script
# says so and exits 2. Each unit is bounded by the suite's own timeouts
# (SUITE_UNIT_TIMEOUT, 300 s); the node is stopped after its unit.
#
# Exit status: 0 when every unit passed at least MIN_SHARE percent (95) of
# what redis-server passes, 1 otherwise.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
SUITE=${REDIS_TESTS:-$ROOT/../shared/redis-tests}
SERVER=${PARLEY_SERVER:-$ROOT/build/parley-server}
MIN_SHARE=${MIN_SHARE:-95}

if [ ! -x "$SUITE/run-units.sh" ] && [ ! -f "$SUITE/run-units.sh" ]; then
    echo "redis-suite: no Redis test suite at $SUITE (set REDIS_TESTS to its folder)" >&2
    exit 2
fi
if ! command -v tclsh8.6 >/dev/null && ! command -v tclsh >/dev/null; then
    echo "redis-suite: tclsh is missing (apt-get install tcl8.6)" >&2
    exit 2
fi

if [ $# -gt 0 ]; then
    UNITS="$*"
else
    UNITS=$(sed -n '/^DEFAULT_UNITS="/,/"$/p' "$SUITE/run-units.sh" | tr -d '"' | sed 's/^DEFAULT_UNITS=//')
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/parley-suite.XXXXXX")
PID=
cleanup() {
    [ -n "$PID" ] && kill "$PID" 2>/dev/null && wait "$PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

# A free port below the kernel's ephemeral range.
free_port() {
    local lo=20000 hi=32000 p
    while :; do
        p=$((lo + RANDOM % (hi - lo)))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
            echo "$p"
            return
        fi
    done
}

status=0
printf '%-22s %7s %7s %7s %6s\n' unit parley failed redis share
for unit in $UNITS; do
    port=$(free_port)
    raft=$(free_port)
    dir="$WORK/$(echo "$unit" | tr / _)"
    mkdir -p "$dir"
    "$SERVER" --port "$port" --dir "$dir/data" --node-id 1 --raft-addr "127.0.0.1:$raft" \
        >"$dir/server.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 100); do
        redis-cli -p "$port" set __ready 1 >/dev/null 2>&1 && break
        sleep 0.1
    done
    line=$(bash "$SUITE/run-units.sh" 127.0.0.1 "$port" "$unit" 2>"$dir/suite.err" | grep "^$unit ")
    kill "$PID" 2>/dev/null
    wait "$PID" 2>/dev/null
    PID=
    read -r _ passed failed base <<<"${line:-$unit 0 0 0}"
    share=0
    [ "${base:-0}" -gt 0 ] && share=$((100 * passed / base))
    printf '%-22s %7s %7s %7s %5s%%\n' "$unit" "$passed" "$failed" "$base" "$share"
    [ "$share" -lt "$MIN_SHARE" ] && status=1
done
exit $status
