#!/usr/bin/env bash
# tests/fuzz/run.sh — runs the libFuzzer targets built in build/fuzz/ (the
# Makefile's fuzz, fuzz-short and fuzz-merge targets call it).
#
#   run.sh short SECONDS target...  replay tests/fuzz/corpus/<target> and
#                                   tests/fuzz/regress/<target> and fuzz on
#                                   for SECONDS each; what is found goes to
#                                   a scratch directory
#   run.sh long SECONDS target...   fuzz each for SECONDS, keeping what is
#                                   found in build/fuzz/corpus/<target>
#   run.sh merge 0 target...        minimize build/fuzz/corpus/<target> and
#                                   tests/fuzz/corpus/<target> into the latter
#
# One target at a time, under nice -n 19, one process each (-workers=1).
# Prints a line per target with its executions; exits non-zero at the first
# target that crashes, leaks, times out or runs out of memory, leaving
# libFuzzer's report and the reproducer (crash-*, timeout-*, oom-*) in
# build/fuzz/artifacts/. Replay one with build/fuzz/fuzz_<target> <file>.
set -euo pipefail

mode=$1
seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$root/build/fuzz
mkdir -p "$build/artifacts" "$build/logs"

# Limits per target: input size, and the most one allocation may take (a
# length field trusted before it is checked shows up as a malloc-limit crash).
options() {
  local max_len=4096 malloc_mb=512
  case $1 in
    apply) max_len=20000 ;;
    snapshot) max_len=65536; malloc_mb=128 ;;
  esac
  local dict=()
  [ -f "$here/$1.dict" ] && dict=(-dict="$here/$1.dict")
  echo -max_len=$max_len -malloc_limit_mb=$malloc_mb -rss_limit_mb=2048 -timeout=10 \
    -artifact_prefix="$build/artifacts/$1-" -print_final_stats=1 "${dict[@]}"
}

total=0
for t in "$@"; do
  bin=$build/fuzz_$t
  corpus=$here/corpus/$t
  regress=$here/regress/$t # inputs that once crashed: replayed, never merged away
  mkdir -p "$corpus" "$regress"
  log=$build/logs/$t.$mode.log
  # shellcheck disable=SC2046
  case $mode in
    short)
      scratch=$build/short/$t
      rm -rf "$scratch"; mkdir -p "$scratch"
      cmd=("$bin" $(options "$t") -max_total_time="$seconds" "$scratch" "$corpus" "$regress") ;;
    long)
      work=$build/corpus/$t
      mkdir -p "$work"
      cmd=("$bin" $(options "$t") -max_total_time="$seconds" "$work" "$corpus" "$regress") ;;
    merge)
      work=$build/corpus/$t
      fresh=$build/merged/$t
      rm -rf "$fresh"; mkdir -p "$fresh" "$work"
      cmd=("$bin" $(options "$t") -merge=1 "$fresh" "$corpus" "$work") ;;
    *) echo "usage: run.sh short|long|merge SECONDS target..." >&2; exit 2 ;;
  esac
  start=$(date +%s)
  if ! ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=0 UBSAN_OPTIONS=print_stacktrace=1 \
      nice -n 19 "${cmd[@]}" >"$log" 2>&1; then
    echo "fuzz $t: FAILED (libFuzzer's report: $log)" >&2
    grep -E 'ERROR|invariant|SUMMARY|Test unit written' "$log" | head -20 >&2 || true
    exit 1
  fi
  if [ "$mode" = merge ]; then
    rm -rf "$corpus"; mv "$fresh" "$corpus"
    echo "fuzz $t: corpus $(ls "$corpus" | wc -l) files, $(du -sk "$corpus" | cut -f1) KB"
    continue
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 || true)
  echo "fuzz $t: ${runs:-0} executions in $(( $(date +%s) - start )) s, ${cov:-cov: ?}, no crash"
  total=$(( total + ${runs:-0} ))
done
[ "$mode" = merge ] || echo "fuzz: $total executions in total"
