#!/usr/bin/env bash
# bench/secure.sh — what TLS and a password cost: parley next to redis.
#
# Starts its own servers on free loopback ports (certificates made for the
# run with the openssl CLI, in its temporary directory):
#   parley      one durable parley-server node, serving `port` and `tls-port`
#   redis       redis-server --appendonly yes --appendfsync always, on
#               `port` and `--tls-port` (Debian's redis-server has TLS)
#   parley-pass parley-server --requirepass (its rows say skipped, with the
#               reason, if a build refuses the directive)
#   redis-pass  redis-server --requirepass, appendfsync always
#   cluster, cluster-tls
#               three parley-server nodes each, the second with
#               `tls-cluster yes` (Raft between the nodes on TLS); both are
#               benchmarked in clear through their leader
# and runs the same redis-benchmark on each, in clear, over TLS
# (`--tls --cacert`) and with `-a <password>`: SET and GET at -P 1 and -P 16.
# Prints requests per second per side and the parley/redis ratios, and the
# three-node cluster's rate with TLS between nodes next to without.
#
# bench/run.sh calls it (--out DIR keeps the table for RESULTS.md); it also
# runs alone. Every wait has a deadline; every server it started is stopped.
#
# Usage: bench/secure.sh [--quick] [--out DIR]
#   SECURE_TESTS (set,get), SECURE_PIPELINES ("1 16"), SECURE_N (20000, quick
#   2000), BENCH_CLIENTS (50), BENCH_SIZES (its first size: 3),
#   BENCH_READY_TIMEOUT (20), BENCH_TEST_TIMEOUT (180)
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
PARLEY=${BENCH_PARLEY:-$REPO/build/parley-server}
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-20}
TEST_TIMEOUT=${BENCH_TEST_TIMEOUT:-180}
quick=${BENCH_QUICK:-0}
out=""
while [ $# -gt 0 ]; do
  case $1 in
    --quick) quick=1 ;;
    --out) out=$2; shift ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "bench/secure.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
  shift
done
if [ "$quick" = 1 ]; then def_n=2000; else def_n=20000; fi
N=${SECURE_N:-$def_n}
CLIENTS=${BENCH_CLIENTS:-50}
read -r -a SIZES <<<"${BENCH_SIZES:-3}"
SIZE=${SIZES[0]}
IFS=, read -r -a TESTS <<<"${SECURE_TESTS:-set,get}"
read -r -a PIPELINES <<<"${SECURE_PIPELINES:-1 16}"
PASSWORD=bench-secret

die() { echo "bench/secure.sh: $*" >&2; exit 1; }
[ -x "$PARLEY" ] || die "$PARLEY does not exist; build it with 'make'"
for tool in openssl redis-server redis-cli redis-benchmark; do
  command -v "$tool" >/dev/null || die "$tool not found (scripts/deps.sh installs it)"
done

PIDS=()
mkdir -p "$REPO/build/bench-tmp"
TMP=$(mktemp -d "$REPO/build/bench-tmp/secure.XXXXXX")
# shellcheck source=bench/lib.sh
. "$BENCH_DIR/lib.sh"
cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  stop_pids "${PIDS[@]}"
  rm -rf "$TMP"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---- certificates -------------------------------------------------------------
ssl() { openssl "$@" >/dev/null 2>&1 || die "openssl $1 failed"; }
ssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$TMP/ca.key" -out "$TMP/ca.crt" -subj "/CN=Parley bench CA"
ssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$TMP/server.key" \
  -out "$TMP/server.csr" -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1
ssl x509 -req -in "$TMP/server.csr" -CA "$TMP/ca.crt" -CAkey "$TMP/ca.key" -CAcreateserial \
  -days 2 -copy_extensions copy -out "$TMP/server.crt"
TLS_SERVER=(--tls-cert-file "$TMP/server.crt" --tls-key-file "$TMP/server.key"
  --tls-ca-cert-file "$TMP/ca.crt" --tls-auth-clients no)
TLS_CLIENT=(--tls --cacert "$TMP/ca.crt")

# ---- servers --------------------------------------------------------------------
mapfile -t P < <("$PYTHON" "$BENCH_DIR/tools.py" ports 25)
[ ${#P[@]} -eq 25 ] || die "could not find 25 free loopback ports"
declare -A PORT TLS_PORT PID_OF
start() { # name, then the command
  local name=$1
  shift
  "$@" >"$TMP/$name.log" 2>&1 &
  PIDS+=($!)
  PID_OF[$name]=$!
}
mkdir -p "$TMP/parley" "$TMP/redis" "$TMP/parley-pass" "$TMP/redis-pass"
PORT[parley]=${P[0]} TLS_PORT[parley]=${P[1]}
start parley "$PARLEY" --port "${P[0]}" --tls-port "${P[1]}" --dir "$TMP/parley" \
  --raft-addr "127.0.0.1:${P[2]}" "${TLS_SERVER[@]}"
PORT[redis]=${P[3]} TLS_PORT[redis]=${P[4]}
start redis redis-server --bind 127.0.0.1 --port "${P[3]}" --tls-port "${P[4]}" --dir "$TMP/redis" \
  --daemonize no --appendonly yes --appendfsync always --save '' "${TLS_SERVER[@]}"
PORT[parley-pass]=${P[5]}
start parley-pass "$PARLEY" --port "${P[5]}" --dir "$TMP/parley-pass" \
  --raft-addr "127.0.0.1:${P[6]}" --requirepass "$PASSWORD"
PORT[redis-pass]=${P[7]}
start redis-pass redis-server --bind 127.0.0.1 --port "${P[7]}" --dir "$TMP/redis-pass" \
  --daemonize no --appendonly yes --appendfsync always --save '' --requirepass "$PASSWORD"

# Two three-node clusters, the second with TLS between its nodes (the
# same certificate for every node: the chain is what is checked).
for side in cluster cluster-tls; do
  if [ $side = cluster ]; then base=10; else base=16; fi
  members=""
  for i in 1 2 3; do members+="$i@127.0.0.1:${P[$((base + 2 * i - 1))]},"; done
  for i in 1 2 3; do
    # Under tls-cluster the nodes also reach each other's tls-port (the
    # forwarding link, joins, relayed RAFT commands).
    if [ $side = cluster ]; then tls=()
    else tls=(--tls-cluster yes --tls-port "${P[$((21 + i))]}" "${TLS_SERVER[@]}"); fi
    mkdir -p "$TMP/$side/n$i"
    start "$side-n$i" "$PARLEY" --port "${P[$((base + 2 * i - 2))]}" --dir "$TMP/$side/n$i" \
      --node-id "$i" --raft-addr "127.0.0.1:${P[$((base + 2 * i - 1))]}" --cluster "${members%,}" \
      "${tls[@]}"
  done
done

cli() { timeout 3 redis-cli -h 127.0.0.1 "$@" 2>/dev/null | tr -d '\r' || true; }
# A cluster's leader's client port, once one leads and takes a write.
wait_leader() { # side, base port index
  local side=$1 base=$2 deadline=$((SECONDS + READY_TIMEOUT)) i port
  while [ $SECONDS -lt $deadline ]; do
    for i in 1 2 3; do
      port=${P[$((base + 2 * i - 2))]}
      kill -0 "${PID_OF[$side-n$i]}" 2>/dev/null || die "$side node $i exited: $(tail -n 5 "$TMP/$side-n$i.log")"
      if cli -p "$port" raft info | grep -qx 'role:leader' &&
        [ "$(cli -p "$port" set __secure_ready 1)" = OK ]; then
        PORT[$side]=$port
        return 0
      fi
    done
    sleep 0.1
  done
  die "$side: no leader took a write within ${READY_TIMEOUT}s"
}
# Until a SET answers OK, the server exits (false), or the deadline.
wait_writable() { # name, then redis-cli connection arguments
  local name=$1 deadline=$((SECONDS + READY_TIMEOUT))
  shift
  until [ "$(cli "$@" set __secure_ready 1)" = OK ]; do
    kill -0 "${PID_OF[$name]}" 2>/dev/null || return 1
    [ $SECONDS -lt $deadline ] || die "$name not writable within ${READY_TIMEOUT}s: $(tail -n 5 "$TMP/$name.log")"
    sleep 0.1
  done
}
wait_writable parley -p "${PORT[parley]}" || die "parley-server exited: $(tail -n 5 "$TMP/parley.log")"
wait_writable parley -p "${TLS_PORT[parley]}" "${TLS_CLIENT[@]}" || die "parley over TLS failed"
wait_writable redis -p "${PORT[redis]}" || die "redis-server exited: $(tail -n 5 "$TMP/redis.log")"
wait_writable redis -p "${TLS_PORT[redis]}" "${TLS_CLIENT[@]}" || die "redis over TLS failed"
wait_writable redis-pass -p "${PORT[redis-pass]}" -a "$PASSWORD" --no-auth-warning ||
  die "redis-server --requirepass exited: $(tail -n 5 "$TMP/redis-pass.log")"
wait_leader cluster 10
wait_leader cluster-tls 16
parley_pass=1
if ! wait_writable parley-pass -p "${PORT[parley-pass]}" -a "$PASSWORD" --no-auth-warning; then
  parley_pass=0
  PASS_SKIPPED="parley-server refused --requirepass ('$(grep -v '^$' "$TMP/parley-pass.log" | tail -n 1 | cut -c1-100)'): the parley password rows are skipped"
  echo "bench/secure.sh: $PASS_SKIPPED"
fi

# ---- measure ------------------------------------------------------------------
# The variants: name, the side whose servers it uses, redis-benchmark's
# connection arguments (after -h 127.0.0.1).
declare -A RPS
VARIANTS=(plain tls password)
args_of() { # variant server
  case $1 in
    plain) echo "-p ${PORT[$2]}" ;;
    tls) echo "-p ${TLS_PORT[$2]} ${TLS_CLIENT[*]}" ;;
    password) echo "-p ${PORT[$2-pass]} -a $PASSWORD" ;;
  esac
}
failures=0
echo "bench/secure.sh: redis-benchmark -c $CLIENTS -n $N -d $SIZE, ${TESTS[*]} at -P ${PIPELINES[*]}; in clear, over TLS, with a password"
for pipeline in "${PIPELINES[@]}"; do
  for test in "${TESTS[@]}"; do
    for variant in "${VARIANTS[@]}"; do
      for server in parley redis; do
        key=$variant,$server,$test,$pipeline
        if [ "$variant" = password ] && [ "$server" = parley ] && [ "$parley_pass" = 0 ]; then
          RPS[$key]=skipped
          continue
        fi
        read -r -a conn <<<"$(args_of "$variant" "$server")"
        csv=$(timeout -k 5 "$TEST_TIMEOUT" redis-benchmark -h 127.0.0.1 "${conn[@]}" -c "$CLIENTS" \
          -n "$N" -P "$pipeline" -d "$SIZE" -t "$test" --csv 2>"$TMP/bench.err") || true
        rps=$(sed -n '2p' <<<"$csv" | awk -F'"' '{ print $4 }')
        if [ -z "$rps" ]; then
          failures=$((failures + 1))
          rps=FAILED
          echo "bench/secure.sh: $variant $server $test -P $pipeline failed: $(tail -n 2 "$TMP/bench.err" | tr '\n' ' ')" >&2
        fi
        RPS[$key]=$rps
        printf '  %-8s -P %-3s %-9s %-7s %s rps\n' "$test" "$pipeline" "$variant" "$server" "$rps"
      done
    done
  done
done

for pipeline in "${PIPELINES[@]}"; do
  for test in "${TESTS[@]}"; do
    for side in cluster cluster-tls; do
      csv=$(timeout -k 5 "$TEST_TIMEOUT" redis-benchmark -h 127.0.0.1 -p "${PORT[$side]}" \
        -c "$CLIENTS" -n "$N" -P "$pipeline" -d "$SIZE" -t "$test" --csv 2>"$TMP/bench.err") || true
      rps=$(sed -n '2p' <<<"$csv" | awk -F'"' '{ print $4 }')
      if [ -z "$rps" ]; then
        failures=$((failures + 1))
        rps=FAILED
        echo "bench/secure.sh: $side $test -P $pipeline failed: $(tail -n 2 "$TMP/bench.err" | tr '\n' ' ')" >&2
      fi
      RPS[$side,$test,$pipeline]=$rps
      printf '  %-8s -P %-3s %-11s %s rps\n' "$test" "$pipeline" "$side" "$rps"
    done
  done
done

# ---- report ---------------------------------------------------------------------
ratio() { # a b -> a/b with two decimals, "-" unless both are numbers
  awk -v a="$1" -v b="$2" 'BEGIN { if (a !~ /^[0-9.]+$/ || b !~ /^[0-9.]+$/ || b + 0 == 0) print "-"; else printf "%.2f", a / b }'
}
report() {
  echo
  echo "Requests per second: parley (one durable node) next to redis-server (appendfsync always),"
  echo "redis-benchmark -c $CLIENTS -n $N -d $SIZE; ratio = parley/redis (above 1: parley faster);"
  echo "tls/plain and password/plain = what each server keeps of its own plaintext rate"
  printf '%-6s %-3s %-9s %10s %10s %7s %13s %13s\n' test P variant parley redis ratio \
    "parley/plain" "redis/plain"
  for pipeline in "${PIPELINES[@]}"; do
    for test in "${TESTS[@]}"; do
      for variant in "${VARIANTS[@]}"; do
        p=${RPS[$variant,parley,$test,$pipeline]} r=${RPS[$variant,redis,$test,$pipeline]}
        printf '%-6s %-3s %-9s %10s %10s %7s %13s %13s\n' "$test" "$pipeline" "$variant" "$p" "$r" \
          "$(ratio "$p" "$r")" "$(ratio "$p" "${RPS[plain,parley,$test,$pipeline]}")" \
          "$(ratio "$r" "${RPS[plain,redis,$test,$pipeline]}")"
      done
    done
  done
  [ -z "${PASS_SKIPPED:-}" ] || echo "${PASS_SKIPPED}"
  echo
  echo "Three parley nodes, through the leader, in clear: Raft between the nodes on TCP (cluster)"
  echo "and on TLS (cluster-tls, tls-cluster yes); ratio = cluster-tls/cluster"
  printf '%-6s %-3s %10s %12s %7s\n' test P cluster cluster-tls ratio
  for pipeline in "${PIPELINES[@]}"; do
    for test in "${TESTS[@]}"; do
      c=${RPS[cluster,$test,$pipeline]} t=${RPS[cluster-tls,$test,$pipeline]}
      printf '%-6s %-3s %10s %12s %7s\n' "$test" "$pipeline" "$c" "$t" "$(ratio "$t" "$c")"
    done
  done
}
if [ -n "$out" ]; then mkdir -p "$out"; report | tee "$out/secure-report.txt"; else report; fi
[ "$failures" -eq 0 ] || die "$failures run(s) failed"
