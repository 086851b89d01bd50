#!/usr/bin/env bash
# bench/reqrep.sh — request/reply round-trip latency: parley next to redis.
#
# Runs `build/examples/request_reply bench` (examples/reqrep_bench.c) with 1
# caller and with 50 concurrent callers, against the same number of server
# threads, on three sides: parley single durable node, redis-server with
# appendfsync always, parley 3-node cluster (through its leader). Prints a
# table of p50/p99 round trip and calls/s, and the parley/redis ratios.
#
# bench/run.sh calls it with the ports of the servers it already runs
# (--ports); run alone, it starts its own on free loopback ports and stops
# them on exit. Every wait has a deadline.
#
# Usage: bench/reqrep.sh [--quick] [--ports single=P,aof=P,cluster=P] [--out DIR]
#   REQREP_SERVERS (8), REQREP_REQUESTS_1 (500), REQREP_REQUESTS_50 (5000),
#   REQREP_DURATION_S (20), BENCH_READY_TIMEOUT (20), BENCH_DRY_RUN=1 (the
#   parley sides are redis stand-ins: say so in the table)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
RR=${REQREP_BINARY:-$REPO/build/examples/request_reply}
PARLEY=${BENCH_PARLEY:-$REPO/build/parley-server}
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-20}
SERVERS=${REQREP_SERVERS:-8}
DURATION_S=${REQREP_DURATION_S:-20}
quick=${BENCH_QUICK:-0}
ports="" out=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --ports) ports=$2; shift ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/reqrep.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then def1=100 def50=1000; else def1=500 def50=5000; fi
REQUESTS_1=${REQREP_REQUESTS_1:-$def1}
REQUESTS_50=${REQREP_REQUESTS_50:-$def50}

die() { echo "bench/reqrep.sh: $*" >&2; exit 1; }
[ -x "$RR" ] || make -s -C "$REPO" examples >&2 || die "$RR does not build ('make examples')"

declare -A PORT LABEL
LABEL[single]="parley single"
LABEL[aof]="redis appendfsync always"
LABEL[cluster]="parley 3-node cluster"
if [ "${BENCH_DRY_RUN:-0}" = 1 ]; then
  LABEL[single]="DRY RUN: redis as single"
  LABEL[cluster]="DRY RUN: redis as cluster"
fi

# ---- servers: given, or our own --------------------------------------------
PIDS=()
TMP=""
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pids "${PIDS[@]}"
  [ -n "$TMP" ] && rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

cli() { timeout 3 redis-cli -h 127.0.0.1 -p "$1" "${@:2}" 2>/dev/null | tr -d '\r' || true; }

# Until `set` through the port answers OK (a leader exists), or the deadline.
wait_writable() { # port what
  local deadline=$((SECONDS + READY_TIMEOUT))
  until [ "$(cli "$1" set __reqrep_ready 1)" = OK ]; do
    [ $SECONDS -lt $deadline ] || die "$2 on port $1 not writable within ${READY_TIMEOUT}s (logs in $TMP)"
    sleep 0.1
  done
}

if [ -n "$ports" ]; then
  IFS=, read -r -a pairs <<<"$ports"
  for pair in "${pairs[@]}"; do
    side=${pair%%=*} port=${pair#*=}
    case $side in single | aof | cluster) ;; *) die "unknown side '$side' in --ports" ;; esac
    [ -n "$port" ] && PORT[$side]=$port
  done
else
  [ -x "$PARLEY" ] || die "$PARLEY does not exist; build it with 'make'"
  mkdir -p "$REPO/build/bench-tmp"
  TMP=$(mktemp -d "$REPO/build/bench-tmp/reqrep.XXXXXX")
  mapfile -t P < <("$PYTHON" "$BENCH_DIR/tools.py" ports 9)
  [ ${#P[@]} -eq 9 ] || die "could not find 9 free loopback ports"
  # P[0] single, P[1] its raft, P[2] redis, P[3..5] cluster, P[6..8] their raft.
  mkdir -p "$TMP/single" "$TMP/aof"
  "$PARLEY" --port "${P[0]}" --dir "$TMP/single" --raft-addr "127.0.0.1:${P[1]}" \
    >"$TMP/single.log" 2>&1 &
  PIDS+=($!)
  redis-server --bind 127.0.0.1 --port "${P[2]}" --dir "$TMP/aof" --daemonize no \
    --appendonly yes --appendfsync always --save '' >"$TMP/aof.log" 2>&1 &
  PIDS+=($!)
  members="1@127.0.0.1:${P[6]},2@127.0.0.1:${P[7]},3@127.0.0.1:${P[8]}"
  for i in 0 1 2; do
    mkdir -p "$TMP/n$((i + 1))"
    "$PARLEY" --port "${P[$((3 + i))]}" --dir "$TMP/n$((i + 1))" --node-id "$((i + 1))" \
      --raft-addr "127.0.0.1:${P[$((6 + i))]}" --cluster "$members" >"$TMP/n$((i + 1)).log" 2>&1 &
    PIDS+=($!)
  done
  PORT[single]=${P[0]} PORT[aof]=${P[2]}
  wait_writable "${P[0]}" "parley single"
  wait_writable "${P[2]}" "redis"
  # The cluster is measured through its leader, as bench/run.sh does.
  deadline=$((SECONDS + READY_TIMEOUT))
  while [ -z "${PORT[cluster]:-}" ]; do
    for port in "${P[3]}" "${P[4]}" "${P[5]}"; do
      if cli "$port" raft info | grep -qx 'role:leader'; then PORT[cluster]=$port; fi
    done
    [ -n "${PORT[cluster]:-}" ] && break
    [ $SECONDS -lt $deadline ] || die "no cluster leader within ${READY_TIMEOUT}s (logs in $TMP)"
    sleep 0.1
  done
  wait_writable "${PORT[cluster]}" "the cluster leader"
fi

# ---- measure ----------------------------------------------------------------
SIDES=()
for side in single aof cluster; do [ -n "${PORT[$side]:-}" ] && SIDES+=("$side"); done
if [ ${#SIDES[@]} -eq 0 ]; then echo "bench/reqrep.sh: no side to measure, skipped"; exit 0; fi
declare -A RESULT   # side,callers -> the bench line, or FAILED
failures=0
[ -n "$out" ] && mkdir -p "$out" && : >"$out/reqrep.txt"
echo "bench/reqrep.sh: request/reply round trips on ${SIDES[*]}, $SERVERS server threads each"
for callers in 1 50; do
  requests=$REQUESTS_1
  [ "$callers" -eq 50 ] && requests=$REQUESTS_50
  # Sides back to back for each caller count, so drifts spread over all.
  for side in "${SIDES[@]}"; do
    line="" rc=0
    line=$(timeout -k 5 $((DURATION_S + 60)) "$RR" bench -p "${PORT[$side]}" \
      --callers "$callers" --servers "$SERVERS" --requests "$requests" \
      --duration-s "$DURATION_S" --queue "reqrep-bench:$$" --label "$side" 2>"${TMPDIR:-/tmp}/reqrep-$$.err") || rc=$?
    if [ $rc -ne 0 ] || [ -z "$line" ]; then
      failures=$((failures + 1))
      echo "bench/reqrep.sh: $side with $callers caller(s) failed (rc $rc): ${line:-no output} $(tail -n 3 "${TMPDIR:-/tmp}/reqrep-$$.err" | tr '\n' ' ')" >&2
      line="FAILED $line"
    fi
    rm -f "${TMPDIR:-/tmp}/reqrep-$$.err"
    RESULT[$side,$callers]=$line
    [ -n "$out" ] && echo "$line" >>"$out/reqrep.txt"
    echo "  $callers caller(s), $side: $line"
  done
done

# ---- report -----------------------------------------------------------------
field() { # line name -> value, empty if absent
  sed -n "s/.*\b$2=\([^ ]*\).*/\1/p" <<<"$1"
}
ratio() { # a b -> a/b with two decimals, "-" if either is missing or zero
  awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b + 0 == 0 || a == "nan") print "-"; else printf "%.2f", a / b }'
}
report() { # the tables, printed and (with --out) kept for RESULTS.md
  echo
  echo "Request/reply round trip, ms: caller LPUSH -> server BLMOVE, MULTI/EXEC -> caller BLPOP ($SERVERS servers)"
  printf '%-8s %-26s %7s %9s %9s %9s\n' callers side calls calls/s p50 p99
  for callers in 1 50; do
    for side in "${SIDES[@]}"; do
      line=${RESULT[$side,$callers]}
      if [[ $line == FAILED* ]]; then
        printf '%-8s %-26s %s\n' "$callers" "${LABEL[$side]}" FAILED
      else
        printf '%-8s %-26s %7s %9s %9s %9s\n' "$callers" "${LABEL[$side]}" "$(field "$line" ok)" \
          "$(field "$line" calls_per_s)" "$(field "$line" p50_ms)" "$(field "$line" p99_ms)"
      fi
    done
  done
  if [ -n "${PORT[aof]:-}" ]; then
    echo
    echo "parley/redis: p50 and p99 below 1 = parley faster; calls/s above 1 = parley faster"
    printf '%-8s %-26s %6s %6s %8s\n' callers side p50 p99 calls/s
    for callers in 1 50; do
      redis=${RESULT[aof,$callers]}
      for side in single cluster; do
        [ -n "${PORT[$side]:-}" ] || continue
        mine=${RESULT[$side,$callers]}
        printf '%-8s %-26s %6s %6s %8s\n' "$callers" "${LABEL[$side]}" \
          "$(ratio "$(field "$mine" p50_ms)" "$(field "$redis" p50_ms)")" \
          "$(ratio "$(field "$mine" p99_ms)" "$(field "$redis" p99_ms)")" \
          "$(ratio "$(field "$mine" calls_per_s)" "$(field "$redis" calls_per_s)")"
      done
    done
  fi
}
if [ -n "$out" ]; then report | tee "$out/reqrep-report.txt"; else report; fi
[ "$failures" -eq 0 ] || die "$failures run(s) failed"
