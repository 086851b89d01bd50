#!/usr/bin/env bash
# bench/run.sh — compare parley-server with redis-server under redis-benchmark.
#
# Starts, on free loopback ports and with data directories on one filesystem:
#   single     parley-server, one durable node
#   aof        redis-server --appendonly yes --appendfsync always --save ''
#   nopersist  redis-server --save '' --appendonly no
#   cluster    three parley-server nodes (benchmarked through the leader)
# runs the same tests against each — redis-benchmark on strings, lists, hashes,
# sets and sorted sets; BLPOP woken by LPUSH; PUBLISH to 1 and 50 subscribers;
# XADD, XREADGROUP + XACK, XREADGROUP woken by XADD (bench/messaging.sh) —
# then the memory scripts (bench/memory.sh), and prints one table per
# comparison (bench/report.py). See bench/README.md.
#
# Usage: bench/run.sh [--write-results] [--dry-run-with-redis] [--quick] [--help]
# Every option has an environment twin; see usage() below.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$BENCH_DIR/.." && pwd)
PYTHON=${PYTHON:-/usr/bin/python3}
[ -x "$PYTHON" ] || PYTHON=python3

usage() {
  cat <<'EOF'
Usage: bench/run.sh [options]

Options (environment twin in brackets):
  --write-results       write the tables to bench/RESULTS.md   [BENCH_WRITE_RESULTS=1]
  --dry-run-with-redis  play every parley side with redis-server [BENCH_DRY_RUN=1]
                        (proves the harness before parley-server exists; results
                        then go to bench/out/RESULTS.dry-run.md, never RESULTS.md)
  --quick               a much shorter run                      [BENCH_QUICK=1]
  -h, --help            this text

Environment overrides:
  BENCH_N                requests per test, for every -P value
  BENCH_N_UNPIPELINED    requests per test at -P 1   (default 20000, quick 2000)
  BENCH_N_PIPELINED      requests per test at -P >1  (default 50000, quick 10000)
  BENCH_TESTS            comma list of tests (default below; "none" runs only the memory part):
                         redis-benchmark -t names, blpop, publish<K> (K subscribers),
                         xadd, xreadgroup, xreadgroup_wake
  BENCH_SIZES            value sizes for -d          (default "3 1024")
  BENCH_PIPELINES        values for -P               (default "1 16")
  BENCH_CLIENTS          -c                          (default 50)
  BENCH_BLPOP_PAIRS      consumer/producer pairs of the blpop and xreadgroup_wake tests
                         (default BENCH_CLIENTS / 2)
  BENCH_XREADGROUP_ENTRIES  entries the xreadgroup test drains (default 200000, quick 20000)
  BENCH_XREADGROUP_CONSUMERS  its consumers (default 4)
  BENCH_SECURE           0: skip bench/secure.sh (TLS and password rows; skipped in the dry run)
  BENCH_MEMORY           full, quick or off: the memory scripts' sizes (default full,
                         quick with --quick, off in the dry run)
  BENCH_MEMORY_TIMEOUT   seconds one memory script may take (600)
  BENCH_EXPIRY           on or off: keys set with PX reclaimed, parley next to redis
                         (bench/expiry.py; default on, off in the dry run)
  BENCH_EXPIRY_KEYS      keys it sets with PX 1000 (default 1000000, quick 100000)
  BENCH_BULLMQ           on or off: BullMQ jobs per second through a Worker, parley next
                         to redis (bench/bullmq.py; default on, off in the dry run)
  BENCH_BULLMQ_JOBS      jobs it runs (default 20000, quick 2000)
  BENCH_SNAPSHOT_STALL   on or off: the longest event-loop stall while a node with N keys
                         snapshots under write load, parley next to redis's BGSAVE
                         (bench/snapshot_stall.py; default on, off in the dry run)
  BENCH_SNAPSHOT_KEYS    its N (default 10000000, quick 1000000)
  BENCH_SUSTAINED        on or off: used memory, RSS, disk and restart time after sustained
                         1 KB SETs, parley next to redis appendfsync always
                         (bench/sustained.py; default on, off in the dry run)
  BENCH_SUSTAINED_SETS   its SETs (default 2600000, quick 260000)
  BENCH_SUSTAINED_KEYS   the keys they go to (default 200000, quick 20000)
  BENCH_KEYSPACE         -r, also the preloaded keys (default 100000, quick 10000)
  BENCH_SIDES            comma list of single,aof,nopersist,cluster (default all)
  BENCH_PARLEY           parley-server binary        (default build/parley-server)
  BENCH_PARLEY_ARGS      extra arguments for every parley-server node
  BENCH_TMPDIR           parent of the run's data directories (default build/bench-tmp)
  BENCH_KEEP_TMP=1       keep the data directories after the run
  BENCH_RESULTS_FILE     where --write-results writes
  BENCH_READY_TIMEOUT    seconds a server (or the cluster) gets to accept writes (20)
  BENCH_TEST_TIMEOUT     seconds one redis-benchmark invocation may take (180)
  BENCH_PRELOAD_TIMEOUT  seconds one preload may take (180)
  BENCH_PRELOAD_BATCH    keys per MSET while preloading, 1 = plain SET (100)

Default tests: set,get,incr,mset,lpush,rpop,lpop,hset,sadd,zadd,zpopmin,blpop,publish1,publish50,
               xadd,xreadgroup,xreadgroup_wake

Raw CSVs, server logs and the exact commands of each run are kept in
bench/out/run-<time>/ (bench/out/latest points at the last one; not tracked by git).
EOF
}

write_results=${BENCH_WRITE_RESULTS:-0}
dry_run=${BENCH_DRY_RUN:-0}
quick=${BENCH_QUICK:-0}
while [ $# -gt 0 ]; do
  case $1 in
    --write-results) write_results=1 ;;
    --dry-run-with-redis) dry_run=1 ;;
    --quick) quick=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench/run.sh: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done

if [ "$quick" = 1 ]; then
  def_n1=2000 def_n16=10000 def_keyspace=10000 def_xentries=20000
else
  def_n1=20000 def_n16=50000 def_keyspace=100000 def_xentries=200000
fi
N_UNPIPELINED=${BENCH_N_UNPIPELINED:-${BENCH_N:-$def_n1}}
N_PIPELINED=${BENCH_N_PIPELINED:-${BENCH_N:-$def_n16}}
TESTS=${BENCH_TESTS:-set,get,incr,mset,lpush,rpop,lpop,hset,sadd,zadd,zpopmin,blpop,publish1,publish50,xadd,xreadgroup,xreadgroup_wake,setbit,bitcount,pfadd,pfcount,geoadd,geosearch}
SIZES=${BENCH_SIZES:-3 1024}
PIPELINES=${BENCH_PIPELINES:-1 16}
CLIENTS=${BENCH_CLIENTS:-50}
BLPOP_PAIRS=${BENCH_BLPOP_PAIRS:-$(((CLIENTS + 1) / 2))}
XENTRIES=${BENCH_XREADGROUP_ENTRIES:-$def_xentries}
XCONSUMERS=${BENCH_XREADGROUP_CONSUMERS:-4}
if [ "$dry_run" = 1 ]; then def_memory=off; elif [ "$quick" = 1 ]; then def_memory=quick; else def_memory=full; fi
MEMORY=${BENCH_MEMORY:-$def_memory}
MEMORY_TIMEOUT=${BENCH_MEMORY_TIMEOUT:-600}
if [ "$dry_run" = 1 ]; then def_expiry=off; else def_expiry=on; fi
EXPIRY=${BENCH_EXPIRY:-$def_expiry}
if [ "$quick" = 1 ]; then def_expiry_keys=100000; else def_expiry_keys=1000000; fi
EXPIRY_KEYS=${BENCH_EXPIRY_KEYS:-$def_expiry_keys}
if [ "$dry_run" = 1 ]; then def_snapstall=off; else def_snapstall=on; fi
SNAPSHOT_STALL=${BENCH_SNAPSHOT_STALL:-$def_snapstall}
if [ "$quick" = 1 ]; then def_snapshot_keys=1000000; else def_snapshot_keys=10000000; fi
SNAPSHOT_KEYS=${BENCH_SNAPSHOT_KEYS:-$def_snapshot_keys}
if [ "$dry_run" = 1 ]; then def_bullmq=off; else def_bullmq=on; fi
BULLMQ=${BENCH_BULLMQ:-$def_bullmq}
if [ "$quick" = 1 ]; then def_bullmq_jobs=2000; else def_bullmq_jobs=20000; fi
BULLMQ_JOBS=${BENCH_BULLMQ_JOBS:-$def_bullmq_jobs}
if [ "$dry_run" = 1 ]; then def_sustained=off; else def_sustained=on; fi
SUSTAINED=${BENCH_SUSTAINED:-$def_sustained}
if [ "$quick" = 1 ]; then def_sets=260000 def_skeys=20000; else def_sets=2600000 def_skeys=200000; fi
SUSTAINED_SETS=${BENCH_SUSTAINED_SETS:-$def_sets}
SUSTAINED_KEYS=${BENCH_SUSTAINED_KEYS:-$def_skeys}
KEYSPACE=${BENCH_KEYSPACE:-$def_keyspace}
SIDES=${BENCH_SIDES:-single,aof,nopersist,cluster}
PARLEY=${BENCH_PARLEY:-$REPO/build/parley-server}
PARLEY_ARGS=${BENCH_PARLEY_ARGS:-}
TMP_BASE=${BENCH_TMPDIR:-$REPO/build/bench-tmp}
READY_TIMEOUT=${BENCH_READY_TIMEOUT:-20}
TEST_TIMEOUT=${BENCH_TEST_TIMEOUT:-180}
PRELOAD_TIMEOUT=${BENCH_PRELOAD_TIMEOUT:-180}
PRELOAD_BATCH=${BENCH_PRELOAD_BATCH:-100}
if [ "$dry_run" = 1 ]; then
  RESULTS_FILE=${BENCH_RESULTS_FILE:-$BENCH_DIR/out/RESULTS.dry-run.md}
else
  RESULTS_FILE=${BENCH_RESULTS_FILE:-$BENCH_DIR/RESULTS.md}
fi

die() { echo "bench/run.sh: $*" >&2; exit 1; }

# ---- validate the configuration -------------------------------------------
is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
for v in N_UNPIPELINED N_PIPELINED CLIENTS BLPOP_PAIRS XENTRIES XCONSUMERS KEYSPACE READY_TIMEOUT TEST_TIMEOUT \
  PRELOAD_TIMEOUT PRELOAD_BATCH MEMORY_TIMEOUT EXPIRY_KEYS SNAPSHOT_KEYS SUSTAINED_SETS SUSTAINED_KEYS \
  BULLMQ_JOBS; do
  is_uint "${!v}" || die "$v must be a positive integer, got '${!v}'"
done
read -r -a SIZE_LIST <<<"$SIZES"
read -r -a PIPELINE_LIST <<<"$PIPELINES"
IFS=, read -r -a TEST_LIST <<<"$TESTS"
[ "$TESTS" = none ] && TEST_LIST=()
IFS=, read -r -a SIDE_REQ <<<"$SIDES"
[ ${#SIZE_LIST[@]} -gt 0 ] || die "BENCH_SIZES is empty"
[ ${#PIPELINE_LIST[@]} -gt 0 ] || die "BENCH_PIPELINES is empty"
[ ${#TEST_LIST[@]} -gt 0 ] || [ "$TESTS" = none ] || die "BENCH_TESTS is empty (say none for no tests)"
case $MEMORY in full | quick | off) ;; *) die "BENCH_MEMORY must be full, quick or off, got '$MEMORY'" ;; esac
for v in EXPIRY SNAPSHOT_STALL SUSTAINED; do
  case ${!v} in on | off) ;; *) die "BENCH_$v must be on or off, got '${!v}'" ;; esac
done
for v in "${SIZE_LIST[@]}" "${PIPELINE_LIST[@]}"; do
  is_uint "$v" || die "sizes and pipelines must be positive integers, got '$v'"
done
for t in "${TEST_LIST[@]}"; do
  [[ $t =~ ^[a-z_]+$ ]] || [[ $t =~ ^publish[1-9][0-9]*$ ]] || die "bad test name '$t' in BENCH_TESTS"
done
# Sides always run in this order, whatever order BENCH_SIDES lists them in.
SIDE_LIST=()
for s in single aof nopersist cluster; do
  for r in "${SIDE_REQ[@]}"; do [ "$r" = "$s" ] && SIDE_LIST+=("$s") && break; done
done
for r in "${SIDE_REQ[@]}"; do
  case $r in single | aof | nopersist | cluster) ;; *) die "unknown side '$r' in BENCH_SIDES" ;; esac
done
[ ${#SIDE_LIST[@]} -gt 0 ] || die "BENCH_SIDES selects no side"
[ ${#TEST_LIST[@]} -gt 0 ] || SIDE_LIST=() # no tests: start no server
has_side() { local s; for s in "${SIDE_LIST[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }
is_parley_side() { [ "$1" = single ] || [ "$1" = cluster ]; }
want_preload=0 want_tools=0
for t in "${TEST_LIST[@]}"; do
  [ "$t" = get ] && want_preload=1
  [[ $t == blpop || $t == publish* || $t == xreadgroup* ]] && want_tools=1
done

# ---- tools -----------------------------------------------------------------
for tool in redis-server redis-cli redis-benchmark timeout; do
  command -v "$tool" >/dev/null || die "$tool not found (make deps installs redis-server and redis-tools)"
done
command -v "$PYTHON" >/dev/null || die "python3 not found"
need_parley=0
if [ "$dry_run" != 1 ]; then
  for s in "${SIDE_LIST[@]}"; do is_parley_side "$s" && need_parley=1; done
fi
[ "$MEMORY" != off ] && need_parley=1
[ "$EXPIRY" = on ] || [ "$SNAPSHOT_STALL" = on ] || [ "$SUSTAINED" = on ] && need_parley=1
if [ "$need_parley" = 1 ] && [ ! -x "$PARLEY" ]; then
  die "$PARLEY does not exist; build it (make) or run 'bench/run.sh --dry-run-with-redis' to exercise the harness with redis-server only"
fi
# The blpop and publish tests' own clients (bench/*.c, hiredis); make knows
# whether they are up to date.
if [ "$want_tools" = 1 ]; then
  make --no-print-directory -s -C "$REPO" bench-tools >&2 ||
    die "could not build the benchmark clients (make bench-tools; they need libhiredis-dev)"
fi
bench_version=$(redis-benchmark --version 2>/dev/null || true)
if ! [[ $bench_version =~ ([0-9]+)\.[0-9]+ ]] || [ "${BASH_REMATCH[1]}" -lt 7 ]; then
  die "need redis-benchmark >= 7.0 for its --csv latency columns, found '$bench_version'"
fi

# ---- run state, cleanup ----------------------------------------------------
PIDS=()               # every server process this script started
declare -A PID_NAME PID_LOG
CHILD_PID=""          # the redis-benchmark / preload currently running
AUX_PID=""            # the subscribers of a publish test, while it runs
RUN_DIR=""
created_tmp_base=0
START_SECONDS=$SECONDS

alive() {
  local st
  st=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# SIGTERM to the given processes, SIGKILL to those still running 10 s later.
stop_pids() { # pid...
  local pid deadline left
  [ $# -gt 0 ] || return 0
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  deadline=$((SECONDS + 10))
  while :; do
    left=()
    for pid in "$@"; do alive "$pid" && left+=("$pid"); done
    [ ${#left[@]} -eq 0 ] && break
    if [ $SECONDS -ge $deadline ]; then
      echo "bench/run.sh: SIGKILL to ${left[*]} (still running 10 s after SIGTERM)" >&2
      kill -KILL "${left[@]}" 2>/dev/null || true
      break
    fi
    sleep 0.1
  done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM HUP
  # shellcheck disable=SC2086 # an empty CHILD_PID or AUX_PID is no argument
  stop_pids $CHILD_PID $AUX_PID "${PIDS[@]}"
  if [ -n "$RUN_DIR" ] && [ -d "$RUN_DIR" ]; then
    if [ "${BENCH_KEEP_TMP:-0}" = 1 ]; then
      echo "bench/run.sh: kept data directories in $RUN_DIR" >&2
    else
      rm -rf "$RUN_DIR"
      if [ "$created_tmp_base" = 1 ]; then rmdir "$TMP_BASE" 2>/dev/null || true; fi
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "bench/run.sh: interrupted" >&2; exit 130' INT
trap 'echo "bench/run.sh: terminated" >&2; exit 143' TERM HUP

created_tmp_base=0
[ -d "$TMP_BASE" ] || created_tmp_base=1
mkdir -p "$TMP_BASE"
RUN_DIR=$(mktemp -d "$TMP_BASE/run.XXXXXX")
OUT=$BENCH_DIR/out/run-$(date +%Y%m%d-%H%M%S)-$$
mkdir -p "$OUT/raw" "$OUT/logs"
ln -sfn "$(basename "$OUT")" "$BENCH_DIR/out/latest"
: >"$OUT/meta.tsv"
printf '# side\ttest\tsize\tpipeline\trequests\tstatus\tcsv\tseconds\tnote\n' >"$OUT/results.tsv"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$OUT/meta.tsv"; }

log_tail() {
  local name=$1 log=$2
  echo "---- last 30 lines of $name log ($log) ----" >&2
  if [ -s "$log" ]; then tail -n 30 "$log" >&2; else echo "(empty)" >&2; fi
  echo "----" >&2
}
fail_pid() { # message, pid...
  local msg=$1 pid
  shift
  echo "bench/run.sh: $msg" >&2
  for pid in "$@"; do log_tail "${PID_NAME[$pid]}" "${PID_LOG[$pid]}"; done
  exit 1
}

# redis-cli with a deadline; prints the reply without CRs, empty on failure.
cli() {
  local port=$1
  shift
  timeout 3 redis-cli -h 127.0.0.1 -p "$port" "$@" 2>/dev/null | tr -d '\r' || true
}

# ---- servers ---------------------------------------------------------------
REDIS_AOF_FLAGS=(--appendonly yes --appendfsync always --save '')
REDIS_NOPERSIST_FLAGS=(--save '' --appendonly no)

# The arguments as one shell-readable line; quotes only what needs it, so the
# empty argument of --save '' stays visible.
shell_words() {
  local a out=""
  for a in "$@"; do
    if [[ $a =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then out+="$a "; else out+="'${a//\'/\'\\\'\'}' "; fi
  done
  printf '%s\n' "${out% }"
}

start_server() { # name, then the command
  local name=$1 log pid
  shift
  log=$OUT/logs/$name.log
  printf '%s\n' "$*" >"$OUT/logs/$name.cmd"
  meta server_cmd "$(shell_words "$@" | sed "s|$RUN_DIR|\$RUN_DIR|g")"
  "$@" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  PID_NAME[$pid]=$name
  PID_LOG[$pid]=$log
  LAST_PID=$pid
}

mapfile -t PORTS < <("$PYTHON" "$BENCH_DIR/tools.py" ports 10)
[ ${#PORTS[@]} -eq 10 ] || die "could not find 10 free loopback ports"
declare -A SIDE_PORT SIDE_PIDS
CLUSTER_PORTS=("${PORTS[3]}" "${PORTS[4]}" "${PORTS[5]}")
CLUSTER_RAFT=("${PORTS[6]}" "${PORTS[7]}" "${PORTS[8]}")
SINGLE_RAFT=${PORTS[9]}
read -r -a PARLEY_EXTRA <<<"$PARLEY_ARGS"

start_redis() { # name port dir flags...
  local name=$1 port=$2 dir=$3
  shift 3
  mkdir -p "$dir"
  start_server "$name" redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --daemonize no "$@"
}

if has_side single; then
  SIDE_PORT[single]=${PORTS[0]}
  if [ "$dry_run" = 1 ]; then
    start_redis single "${PORTS[0]}" "$RUN_DIR/single" "${REDIS_AOF_FLAGS[@]}"
  else
    mkdir -p "$RUN_DIR/single"
    start_server single "$PARLEY" --port "${PORTS[0]}" --dir "$RUN_DIR/single" \
      --raft-addr "127.0.0.1:$SINGLE_RAFT" "${PARLEY_EXTRA[@]}"
  fi
  SIDE_PIDS[single]=$LAST_PID
fi
if has_side aof; then
  SIDE_PORT[aof]=${PORTS[1]}
  start_redis aof "${PORTS[1]}" "$RUN_DIR/aof" "${REDIS_AOF_FLAGS[@]}"
  SIDE_PIDS[aof]=$LAST_PID
fi
if has_side nopersist; then
  SIDE_PORT[nopersist]=${PORTS[2]}
  start_redis nopersist "${PORTS[2]}" "$RUN_DIR/nopersist" "${REDIS_NOPERSIST_FLAGS[@]}"
  SIDE_PIDS[nopersist]=$LAST_PID
fi
if has_side cluster; then
  members="1@127.0.0.1:${CLUSTER_RAFT[0]},2@127.0.0.1:${CLUSTER_RAFT[1]},3@127.0.0.1:${CLUSTER_RAFT[2]}"
  SIDE_PIDS[cluster]=""
  for i in 0 1 2; do
    id=$((i + 1))
    if [ "$dry_run" = 1 ]; then
      # Stand-in: a durable redis primary and two durable replicas of it (the
      # primary starts syncing replicas at once instead of after 5 s).
      replica=(--repl-diskless-sync-delay 0)
      [ $i -gt 0 ] && replica=(--replicaof 127.0.0.1 "${CLUSTER_PORTS[0]}")
      start_redis "cluster-n$id" "${CLUSTER_PORTS[$i]}" "$RUN_DIR/cluster/n$id" \
        "${REDIS_AOF_FLAGS[@]}" "${replica[@]}"
    else
      mkdir -p "$RUN_DIR/cluster/n$id"
      start_server "cluster-n$id" "$PARLEY" --port "${CLUSTER_PORTS[$i]}" \
        --dir "$RUN_DIR/cluster/n$id" --node-id "$id" \
        --raft-addr "127.0.0.1:${CLUSTER_RAFT[$i]}" --cluster "$members" "${PARLEY_EXTRA[@]}"
    fi
    SIDE_PIDS[cluster]+="$LAST_PID "
  done
fi

# A single server is ready when it accepts a write.
wait_ready() { # side
  local side=$1 pid=${SIDE_PIDS[$1]} port=${SIDE_PORT[$1]} deadline
  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    alive "$pid" || fail_pid "${PID_NAME[$pid]} (pid $pid) exited during startup" "$pid"
    [ "$(cli "$port" set __bench_ready 1)" = OK ] && return 0
    [ $SECONDS -lt $deadline ] ||
      fail_pid "${PID_NAME[$pid]} on port $port did not answer 'set __bench_ready 1' with OK within ${READY_TIMEOUT}s" "$pid"
    sleep 0.2
  done
}

# Role of a cluster node: leader, follower, or whatever else it reports
# (empty when it does not answer). The dry run maps redis replication roles.
node_role() { # port
  local info role
  if [ "$dry_run" = 1 ]; then
    info=$(cli "$1" info replication)
    role=$(sed -n 's/^role://p' <<<"$info")
    case $role in
      master) echo leader ;;
      slave)
        if grep -qx 'master_link_status:up' <<<"$info"; then echo follower; else echo syncing; fi
        ;;
      *) echo "$role" ;;
    esac
  else
    info=$(cli "$1" raft info)
    sed -n 's/^role://p' <<<"$info" | head -n 1
  fi
}

# The cluster is ready when every node reports a role, exactly one is the
# leader, the rest are followers, and the leader accepts a write.
LEADER_PORT=""
wait_cluster() {
  local deadline pids pid i roles leader followers role
  read -r -a pids <<<"${SIDE_PIDS[cluster]}"
  deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    for pid in "${pids[@]}"; do
      alive "$pid" || fail_pid "${PID_NAME[$pid]} (pid $pid) exited during startup" "${pids[@]}"
    done
    roles="" leader="" followers=0
    for i in 0 1 2; do
      role=$(node_role "${CLUSTER_PORTS[$i]}")
      roles+="n$((i + 1))=${role:-no-answer} "
      case $role in
        leader) [ -z "$leader" ] && leader=${CLUSTER_PORTS[$i]} || leader=multiple ;;
        follower) followers=$((followers + 1)) ;;
      esac
    done
    if [ -n "$leader" ] && [ "$leader" != multiple ] && [ $followers -eq 2 ] &&
      [ "$(cli "$leader" set __bench_ready 1)" = OK ]; then
      LEADER_PORT=$leader
      return 0
    fi
    [ $SECONDS -lt $deadline ] ||
      fail_pid "3-node cluster not ready within ${READY_TIMEOUT}s (need one leader that accepts 'set __bench_ready 1' and two followers; last roles: ${roles% })" "${pids[@]}"
    sleep 0.2
  done
}

echo "bench/run.sh: starting ${SIDE_LIST[*]}$([ "$dry_run" = 1 ] && echo ' (DRY RUN: parley sides played by redis-server)')"
echo "bench/run.sh: data in $RUN_DIR, logs and raw CSVs in $OUT"
for s in "${SIDE_LIST[@]}"; do
  [ "$s" = cluster ] && continue
  wait_ready "$s"
done
if has_side cluster; then
  wait_cluster
  SIDE_PORT[cluster]=$LEADER_PORT
  leader_id="" leader_idx=""
  [ "$dry_run" = 1 ] || leader_id=$(cli "$LEADER_PORT" raft info | sed -n 's/^node_id://p' | head -n 1)
  for i in 0 1 2; do [ "${CLUSTER_PORTS[$i]}" = "$LEADER_PORT" ] && leader_idx=$((i + 1)); done
  echo "bench/run.sh: cluster leader is node ${leader_id:-$leader_idx} on port $LEADER_PORT"
  meta note "3-node cluster benchmarked through its leader, node ${leader_id:-$leader_idx}"
fi
echo "bench/run.sh: all servers ready after $((SECONDS - START_SECONDS)) s"

# ---- machine description ---------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo | head -n 1)
fs=$(findmnt -n -o SOURCE,FSTYPE,OPTIONS --target "$RUN_DIR" 2>/dev/null || df -T "$RUN_DIR" | tail -n 1)
fs=$(tr -s ' ' <<<"$fs")
src=$(findmnt -n -o SOURCE --target "$RUN_DIR" 2>/dev/null || true)
blk=""
if [ -b "$src" ]; then
  blk=$(lsblk -dno NAME,MODEL,SIZE,ROTA "$src" 2>/dev/null | awk '{ $NF = ($NF == 1 ? "rotational" : "non-rotational"); print }' || true)
fi
meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
meta nproc "$(nproc)"
meta cpu_model "${cpu_model:-unknown}"
meta kernel "$(uname -srm)"
meta data_dir "$TMP_BASE (every server's data directory is inside one temporary directory there, removed after the run)"
meta filesystem "$fs"
meta block_device "${blk:-${src:-unknown}} (as the kernel reports it; a VM's virtual disk says little about the host's)"
meta redis_version "$(redis-server --version)"
meta redis_benchmark_version "$bench_version"
meta dry_run "$dry_run"
if [ "$dry_run" = 1 ]; then
  meta parley "DRY RUN, not used: both parley sides were played by redis-server"
else
  commit=$(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo unknown)
  git -C "$REPO" diff --quiet HEAD -- 2>/dev/null || commit+=" (with uncommitted changes)"
  meta parley "$PARLEY at commit $commit"
fi
meta benchmark_cmd "redis-benchmark -h 127.0.0.1 -p <port> -c $CLIENTS -n <N> -P <P> -d <size> -r $KEYSPACE -t <test> --csv"
meta benchmark_note "-n: $N_UNPIPELINED at -P 1, $N_PIPELINED at larger -P; -P: ${PIPELINE_LIST[*]}; -d: ${SIZE_LIST[*]}; tests: ${TEST_LIST[*]} (one invocation per test)"
meta benchmark_note "SADD, ZADD, ZPOPMIN and SPOP send no -d value: they run once, at the first -d (value '-'); blpop and publish run at the first -d only"
meta benchmark_note "before each RPOP/LPOP (ZPOPMIN, SPOP) test, mylist (myzset, myset) is refilled with -n + clients x -P elements, and afterwards found not empty: every pop popped something"
meta benchmark_note "blpop: build/bench/blpop-latency --pairs $BLPOP_PAIRS --messages $N_UNPIPELINED --size <first -d>: consumers block in BLPOP, each woken by its own producer's LPUSH; rps = messages delivered per second, latency = from LPUSH sent to the BLPOP reply read"
meta benchmark_note "xadd: redis-benchmark -c $CLIENTS -n <N> -P <P> --csv xadd bench:xadd '*' f <first -d bytes>: one entry per request, one stream"
meta benchmark_note "xreadgroup: build/bench/xreadgroup-consume --consumers $XCONSUMERS --entries $XENTRIES --count 100 --size <first -d>: a stream of that many entries (added untimed) drained by consumers that each repeat XREADGROUP COUNT 100 and XACK of what they read; rps = entries read and acknowledged per second, latency = one XREADGROUP + XACK round"
meta benchmark_note "xreadgroup_wake: build/bench/xreadgroup-latency --pairs $BLPOP_PAIRS --messages $N_UNPIPELINED --size <first -d>: consumers block in XREADGROUP ... BLOCK, each woken by its own producer's XADD; rps = entries delivered per second, latency = from XADD sent to the XREADGROUP reply read"
meta benchmark_note "publish<K>: K subscribers (build/bench/subscribers, connected to the benchmarked node) count what they get while redis-benchmark -c $CLIENTS -n <N> -P <P> publishes to one channel with a message of the first -d bytes; an end marker then closes the count"
if [ "$want_preload" = 1 ]; then
  meta benchmark_note "before the tests of each value size, keys key:000000000000..key:$(printf '%012d' $((KEYSPACE - 1))) are written with values of that size (MSET, $PRELOAD_BATCH keys each), so every GET hits"
fi
meta benchmark_note "order: for each size, -P and test, the sides run back to back (${SIDE_LIST[*]}); all servers stay up for the whole run"

# ---- benchmark ---------------------------------------------------------------
check_side_alive() { # side
  local pid
  for pid in ${SIDE_PIDS[$1]}; do
    alive "$pid" || fail_pid "${PID_NAME[$pid]} (pid $pid) died during the benchmark" "$pid"
  done
}

# Runs a command in the background with a deadline and waits for it, so that
# INT/TERM reach this script's traps at once.
run_child() { # stdout-file stderr-file timeout command...
  local out=$1 err=$2 limit=$3 rc=0
  shift 3
  timeout -k 5 "$limit" "$@" >"$out" 2>"$err" &
  CHILD_PID=$!
  wait "$CHILD_PID" || rc=$?
  CHILD_PID=""
  return "$rc"
}

# shellcheck source=bench/messaging.sh
. "$BENCH_DIR/messaging.sh"
# shellcheck source=bench/types.sh
. "$BENCH_DIR/types.sh"

preload() { # side size
  local side=$1 size=$2 rc=0 t0=$SECONDS
  check_side_alive "$side"
  run_child "$OUT/logs/preload-$side-d$size.out" "$OUT/logs/preload-$side-d$size.err" \
    $((PRELOAD_TIMEOUT + 10)) "$PYTHON" "$BENCH_DIR/tools.py" preload \
    --port "${SIDE_PORT[$side]}" --keyspace "$KEYSPACE" --size "$size" \
    --batch "$PRELOAD_BATCH" --deadline "$PRELOAD_TIMEOUT" || rc=$?
  if [ $rc -ne 0 ]; then
    cat "$OUT/logs/preload-$side-d$size.err" >&2
    check_side_alive "$side"
    die "preloading $KEYSPACE keys of $size bytes into $side failed (rc $rc)"
  fi
  echo "  preload $side: $KEYSPACE keys x $size B in $((SECONDS - t0)) s"
}

# Whether a test runs at this (-d, -P), and the size and pipeline its results
# are filed under (0: not applicable, '-' in the tables). Tests whose
# requests carry no -d value run once, at the first -d; blpop, publish and
# the stream tests run at the first -d only (their message has that many
# bytes); blpop, xreadgroup and xreadgroup_wake also only at the first -P
# (lock step, or their own batching: nothing to pipeline).
plan() { # test size pipeline; sets REC_SIZE REC_PIPELINE, returns 1 to skip
  REC_SIZE=$2 REC_PIPELINE=$3
  [ "$2" = "${SIZE_LIST[0]}" ] || case $1 in sadd | zadd | zpopmin | spop | blpop | publish* | x*) return 1 ;; esac
  if is_type_row "$1"; then
    [ "$2" = "${SIZE_LIST[0]}" ] || return 1
    REC_SIZE=0
    return 0
  fi
  case $1 in
    sadd | zadd | zpopmin | spop) REC_SIZE=0 ;;
    blpop | xreadgroup | xreadgroup_wake)
      [ "$3" = "${PIPELINE_LIST[0]}" ] || return 1
      REC_PIPELINE=0
      ;;
  esac
  return 0
}

# One test against one side; sets STATUS, RC, NOTE (bench/messaging.sh).
run_test() { # side test size pipeline n base
  local side=$1 test=$2 size=$3 pipeline=$4 n=$5 base=$6 popped=0
  NOTE="" RC=0
  case $test in
    blpop) run_blpop "$side" "$size" "$n" "$base"; return ;;
    publish*) run_publish "$side" "${test#publish}" "$size" "$pipeline" "$n" "$base"; return ;;
    xadd) run_xadd "$side" "$size" "$pipeline" "$n" "$base"; return ;;
    xreadgroup) run_xconsume "$side" "$size" "$n" "$base"; return ;;
    xreadgroup_wake) run_xwake "$side" "$size" "$n" "$base"; return ;;
  esac
  if is_type_row "$test"; then
    run_type_row "$side" "$test" "$pipeline" "$n" "$base"
    return
  fi
  if pop_target "$test" >/dev/null; then
    fill_for_pop "$side" "$test" "$size" "$pipeline" "$n" "$base"
    popped=1
  fi
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" "$TEST_TIMEOUT" \
    redis-benchmark -h 127.0.0.1 -p "${SIDE_PORT[$side]}" -c "$CLIENTS" -n "$n" \
    -P "$pipeline" -d "$size" -r "$KEYSPACE" -t "$test" --csv || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  [ "$popped" = 1 ] && [ "$STATUS" = ok ] && check_after_pop "$side" "$test"
  return 0
}

total=0
for size in "${SIZE_LIST[@]}"; do
  for pipeline in "${PIPELINE_LIST[@]}"; do
    for test in "${TEST_LIST[@]}"; do
      plan "$test" "$size" "$pipeline" && total=$((total + ${#SIDE_LIST[@]}))
    done
  done
done
count=0
failures=0
leader_changed=0
for size in "${SIZE_LIST[@]}"; do
  if [ "$want_preload" = 1 ]; then
    echo "bench/run.sh: preloading $KEYSPACE keys with $size-byte values"
    for side in "${SIDE_LIST[@]}"; do preload "$side" "$size"; done
  fi
  for pipeline in "${PIPELINE_LIST[@]}"; do
    if [ "$pipeline" -eq 1 ]; then n=$N_UNPIPELINED; else n=$N_PIPELINED; fi
    for test in "${TEST_LIST[@]}"; do
      plan "$test" "$size" "$pipeline" || continue
      case $test in
        blpop | xreadgroup_wake) n_test=$N_UNPIPELINED ;;
        xreadgroup) n_test=$XENTRIES ;;
        *) n_test=$n ;;
      esac
      for side in "${SIDE_LIST[@]}"; do
        count=$((count + 1))
        check_side_alive "$side"
        base=${side}_${test}_d${REC_SIZE}_P${REC_PIPELINE}
        t0=$SECONDS
        run_test "$side" "$test" "$size" "$pipeline" "$n_test" "$base"
        secs=$((SECONDS - t0))
        summary=$(sed -n '2p' "$OUT/raw/$base.csv" 2>/dev/null | awk -F'"' '{ printf "%s rps, p50 %s ms, p99 %s ms", $4, $10, $14 }')
        if [ "$STATUS" != ok ]; then
          failures=$((failures + 1))
          summary="FAILED ($STATUS, rc $RC): $(grep -v 'Could not fetch server CONFIG' "$OUT/raw/$base.err" 2>/dev/null | tr '\n' ' ' | cut -c1-200 || true)"
        fi
        [ -n "$NOTE" ] && summary+="; $NOTE"
        printf '[%2d/%d] %-9s -d %-5s -P %-3s %-9s %s (%d s)\n' "$count" "$total" \
          "$test" "${REC_SIZE/#0/-}" "${REC_PIPELINE/#0/-}" "$side" "$summary" "$secs"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$side" "$test" "$REC_SIZE" "$REC_PIPELINE" \
          "$n_test" "$STATUS" "raw/$base.csv" "$secs" "${NOTE//$'\t'/ }" >>"$OUT/results.tsv"
        [ "$STATUS" = ok ] || check_side_alive "$side"
        if [ "$side" = cluster ] && [ "$(node_role "$LEADER_PORT")" != leader ]; then
          leader_changed=1
          echo "bench/run.sh: WARNING: port $LEADER_PORT is no longer the cluster leader" >&2
        fi
      done
    done
  done
done
tests_elapsed=$((SECONDS - START_SECONDS))

elapsed=$((SECONDS - START_SECONDS))

# ---- request/reply -----------------------------------------------------------
# On the servers above, before they are stopped (bench/reqrep.sh).
BENCH_QUICK=$quick BENCH_DRY_RUN=$dry_run "$BENCH_DIR/reqrep.sh" --out "$OUT" --ports "single=${SIDE_PORT[single]:-},aof=${SIDE_PORT[aof]:-},cluster=${SIDE_PORT[cluster]:-}" || failures=$((failures + 1))

# ---- TLS and password --------------------------------------------------------
# bench/secure.sh, like the memory scripts, starts servers of its own: stop
# the benchmark's first.
stop_pids "${PIDS[@]}"
PIDS=()
if [ "$dry_run" != 1 ] && [ "${BENCH_SECURE:-1}" = 1 ]; then
  BENCH_QUICK=$quick BENCH_CLIENTS=$CLIENTS BENCH_SIZES="${SIZE_LIST[0]}" BENCH_PARLEY="$PARLEY" \
    "$BENCH_DIR/secure.sh" --out "$OUT" || failures=$((failures + 1))
fi

# ---- memory ----------------------------------------------------------------
memory_failed=0
if [ "$MEMORY" != off ]; then
  echo "bench/run.sh: memory per element ($MEMORY sizes; each script starts its own parley-server and redis-server)"
  rc=0
  run_child "$OUT/logs/memory.out" "$OUT/logs/memory.err" $((3 * MEMORY_TIMEOUT + 30)) \
    env PYTHON="$PYTHON" BENCH_PARLEY="$PARLEY" BENCH_MEMORY_TIMEOUT="$MEMORY_TIMEOUT" \
    "$BENCH_DIR/memory.sh" "$OUT" "$MEMORY" || rc=$?
  cat "$OUT/logs/memory.out"
  if [ $rc -ne 0 ]; then
    memory_failed=1
    cat "$OUT/logs/memory.err" >&2
  fi
elif [ "$dry_run" = 1 ]; then
  meta note "DRY RUN: the memory scripts were not run (they measure parley-server itself)"
fi

# ---- benchmarks with servers of their own -------------------------------------
# Each script starts its own parley-server and redis-server, measures both
# with the same load and prints one table into own/<name>.txt, which
# report.py puts into the results (its OWN_BENCHES lists them).
own_failed=()
own_bench() { # name on|off timeout title command...
  local name=$1 enabled=$2 limit=$3 title=$4 rc=0
  shift 4
  [ "$enabled" = on ] || return 0
  echo "bench/run.sh: $title (its own parley-server and redis-server)"
  mkdir -p "$OUT/own"
  run_child "$OUT/own/$name.txt" "$OUT/logs/$name.err" "$limit" "$@" || rc=$?
  cat "$OUT/own/$name.txt"
  if [ $rc -ne 0 ]; then
    own_failed+=("$name")
    cat "$OUT/logs/$name.err" >&2
    meta note "the $name benchmark failed; see logs/$name.err"
  fi
}
own_bench expiry "$EXPIRY" $((MEMORY_TIMEOUT + 30)) "expiry ($EXPIRY_KEYS keys with PX 1000)" \
  "$PYTHON" "$BENCH_DIR/expiry.py" --parley "$PARLEY" --keys "$EXPIRY_KEYS" --deadline "$MEMORY_TIMEOUT"
own_bench bullmq "$BULLMQ" $((MEMORY_TIMEOUT + 30)) "BullMQ throughput ($BULLMQ_JOBS jobs)" \
  "$PYTHON" "$BENCH_DIR/bullmq.py" --parley "$PARLEY" --jobs "$BULLMQ_JOBS" --deadline "$MEMORY_TIMEOUT"
own_bench snapshot_stall "$SNAPSHOT_STALL" $((MEMORY_TIMEOUT * 2 + 30)) "snapshot stall ($SNAPSHOT_KEYS keys)" \
  "$PYTHON" "$BENCH_DIR/snapshot_stall.py" --parley "$PARLEY" --keys "$SNAPSHOT_KEYS" --deadline "$MEMORY_TIMEOUT"
own_bench sustained "$SUSTAINED" $((MEMORY_TIMEOUT * 2 + 30)) \
  "sustained writes ($SUSTAINED_SETS SETs of 1 KB over $SUSTAINED_KEYS keys)" \
  "$PYTHON" "$BENCH_DIR/sustained.py" --parley "$PARLEY" --sets "$SUSTAINED_SETS" \
  --keys "$SUSTAINED_KEYS" --deadline "$MEMORY_TIMEOUT"

elapsed=$((SECONDS - START_SECONDS))
meta elapsed_s "$elapsed"
meta tests_elapsed_s "$tests_elapsed"
[ "$leader_changed" = 1 ] && meta note "WARNING: the benchmarked cluster node lost leadership during the run"
[ "$failures" -gt 0 ] && meta note "$failures test run(s) failed; their cells say why"
[ "$memory_failed" = 1 ] && meta note "a memory script failed; see memory.tsv and memory/*.err"
[ "$dry_run" = 1 ] && meta note "DRY RUN: 'single' was redis-server with appendfsync always; 'cluster' was a redis primary with two replicas, all appendfsync always"

report_args=("$OUT")
[ "$write_results" = 1 ] && report_args+=(--markdown "$RESULTS_FILE")
"$PYTHON" "$BENCH_DIR/report.py" "${report_args[@]}" | tee "$OUT/report.txt"
echo
echo "bench/run.sh: $count test runs in ${tests_elapsed} s, ${elapsed} s in all, on $(nproc) core(s) shared by client and servers; raw data in $OUT"
if [ "$failures" -gt 0 ] || [ "$memory_failed" = 1 ] || [ ${#own_failed[@]} -gt 0 ]; then
  echo "bench/run.sh: $failures run(s) failed$([ "$memory_failed" = 1 ] && echo '; a memory script failed')$([ ${#own_failed[@]} -gt 0 ] && echo "; benchmarks failed: ${own_failed[*]}")" >&2
  exit 1
fi
