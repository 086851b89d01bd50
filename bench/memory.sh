#!/usr/bin/env bash
# bench/memory.sh — runs the four memory scripts (bytes per element of
# lists, sorted sets, hashes and sets, bytes per stream entry; parley next
# to redis-server) for bench/run.sh, each with a deadline, and keeps what they print.
#
# Usage: bench/memory.sh OUT_DIR full|quick
#   full   the scripts' own sizes (1,000,000 elements or entries per workload)
#   quick  a tenth of them (100,000)
# Writes OUT_DIR/memory/<script>.txt (its table) and .err, and one line per
# script to OUT_DIR/memory.tsv: script, status, seconds, arguments.
# Each script starts and stops its own parley-server and redis-server.
# Environment: PYTHON, BENCH_PARLEY, BENCH_MEMORY_TIMEOUT (seconds per
# script, default 600).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
PARLEY=${BENCH_PARLEY:-$REPO/build/parley-server}
LIMIT=${BENCH_MEMORY_TIMEOUT:-600}

[ $# -eq 2 ] || { echo "usage: bench/memory.sh OUT_DIR full|quick" >&2; exit 2; }
out=$1 mode=$2
case $mode in
  full) list_args=() zset_args=() hash_set_args=() stream_args=() ;;
  quick)
    list_args=(--elements 100000 --keys 1000)
    zset_args=(--elements 100000)
    hash_set_args=(--scale 0.1)
    stream_args=(--entries 100000)
    ;;
  *) echo "bench/memory.sh: mode must be full or quick, got '$mode'" >&2; exit 2 ;;
esac
[ -x "$PARLEY" ] || { echo "bench/memory.sh: $PARLEY does not exist (make)" >&2; exit 1; }
mkdir -p "$out/memory"
[ -f "$out/memory.tsv" ] || printf '# script\tstatus\tseconds\targuments\n' >"$out/memory.tsv"

CHILD=""
trap '[ -n "$CHILD" ] && kill -TERM "$CHILD" 2>/dev/null; exit 143' TERM INT HUP

failures=0
for script in memory_list memory_zset memory_hash_set memory_stream; do
  case $script in
    memory_list) args=("${list_args[@]}") ;;
    memory_zset) args=("${zset_args[@]}") ;;
    memory_hash_set) args=("${hash_set_args[@]}") ;;
    memory_stream) args=("${stream_args[@]}") ;;
  esac
  t0=$SECONDS rc=0
  # In the background, so that a TERM reaches the trap at once.
  timeout -k 10 "$LIMIT" "$PYTHON" "$BENCH_DIR/$script.py" --parley "$PARLEY" "${args[@]}" \
    >"$out/memory/$script.txt" 2>"$out/memory/$script.err" &
  CHILD=$!
  wait "$CHILD" || rc=$?
  CHILD=""
  status=ok
  if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then status=timeout; elif [ $rc -ne 0 ]; then status=error; fi
  [ $status = ok ] || failures=$((failures + 1))
  printf '%s\t%s\t%s\t%s\n' "$script.py" "$status" $((SECONDS - t0)) "${args[*]}" >>"$out/memory.tsv"
  echo "  memory: $script.py ${args[*]}: $status ($((SECONDS - t0)) s)"
  [ $status = ok ] || tail -n 5 "$out/memory/$script.err" | sed 's/^/    /' >&2
done
[ $failures -eq 0 ]
