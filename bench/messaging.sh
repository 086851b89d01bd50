# shellcheck shell=bash
# bench/messaging.sh — sourced by bench/run.sh: the tests that need more
# than one redis-benchmark invocation, each against one side:
#
#   pop tests (rpop, lpop, zpopmin, spop): fill the key the test pops from
#     before it and check afterwards that it was never empty;
#   blpop: build/bench/blpop-latency (bench/blpop_latency.c);
#   publish<K>: K subscribers (build/bench/subscribers, bench/subscribers.c),
#     redis-benchmark PUBLISH, an end marker, and a count of what arrived;
#   xadd: redis-benchmark XADD bench:xadd * f <value>, then XLEN checked;
#   xreadgroup: build/bench/xreadgroup-consume (bench/xreadgroup_consume.c);
#   xreadgroup_wake: build/bench/xreadgroup-latency (bench/xreadgroup_latency.c).
#
# Uses run.sh's globals and helpers (SIDE_PORT, OUT, CLIENTS, PYTHON,
# TEST_TIMEOUT, READY_TIMEOUT, cli, run_child, AUX_PID). Each run_* function
# sets STATUS (ok, error, timeout, no-output, drained, lost), RC and NOTE
# (a short account of the delivery check, shown in the run's log and in
# results.tsv).

BLPOP_TOOL=$REPO/build/bench/blpop-latency
SUBSCRIBERS_TOOL=$REPO/build/bench/subscribers
PUBLISH_CHANNEL=bench:channel
PUBLISH_END=__bench_end__

# The key redis-benchmark's pop test pops from, and its type for tools.py fill.
pop_target() { # test
  case $1 in
    rpop | lpop) echo "list mylist LLEN" ;;
    zpopmin) echo "zset myzset ZCARD" ;;
    spop) echo "set myset SCARD" ;;
    *) return 1 ;;
  esac
}

# STATUS from a finished command's exit status and its CSV (one header line,
# one data row, as redis-benchmark --csv and blpop-latency write).
status_from() { # rc csv
  STATUS=ok
  if [ "$1" -eq 124 ] || [ "$1" -eq 137 ]; then
    STATUS=timeout
  elif [ "$1" -ne 0 ]; then
    STATUS=error
  elif [ "$(grep -c . "$2")" -ne 2 ]; then
    STATUS=no-output
  fi
}

# Gives the popped key enough elements that no pop of the test finds it
# empty: redis-benchmark sends at most n requests, plus one pipeline per
# client in flight when it stops.
fill_for_pop() { # side test size pipeline n base
  local side=$1 test=$2 size=$3 pipeline=$4 n=$5 base=$6 type key counter count rc=0
  read -r type key counter <<<"$(pop_target "$test")"
  count=$((n + CLIENTS * pipeline))
  run_child "$OUT/raw/$base.fill" "$OUT/raw/$base.fill.err" $((TEST_TIMEOUT + 10)) \
    "$PYTHON" "$BENCH_DIR/tools.py" fill --port "${SIDE_PORT[$side]}" --type "$type" \
    --key "$key" --count "$count" --size "$size" --deadline "$TEST_TIMEOUT" || rc=$?
  [ $rc -eq 0 ] || die "filling $key on $side before $test failed: $(cat "$OUT/raw/$base.fill.err")"
  FILLED=$count
}

# After a pop test: the key must still hold elements, or some pop may have
# found it empty (and been faster for it).
check_after_pop() { # side test
  local type key counter left
  read -r type key counter <<<"$(pop_target "$2")"
  left=$(cli "${SIDE_PORT[$1]}" "$counter" "$key")
  if [[ $left =~ ^[0-9]+$ ]] && [ "$left" -gt 0 ]; then
    NOTE="every pop found an element ($left of $FILLED left)"
  else
    STATUS=drained
    NOTE="$key was empty at the end ($counter said '$left' of $FILLED filled): pops may have found nothing"
  fi
}

run_blpop() { # side size n base
  local side=$1 size=$2 n=$3 base=$4
  RC=0
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" $((TEST_TIMEOUT + 10)) \
    "$BLPOP_TOOL" --port "${SIDE_PORT[$side]}" --pairs "$BLPOP_PAIRS" --messages "$n" \
    --size "$size" --deadline "$TEST_TIMEOUT" || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  [ "$RC" -eq 2 ] && STATUS=timeout
  NOTE=$(tail -n 1 "$OUT/raw/$base.err" | sed 's/^blpop-latency: //')
}

# The message every PUBLISH sends: size bytes.
publish_payload() { # size
  head -c "$1" /dev/zero | tr '\0' m
}

run_publish() { # side subscribers size pipeline n base
  local side=$1 subs=$2 size=$3 pipeline=$4 n=$5 base=$6
  local port=${SIDE_PORT[$1]} deadline numsub subs_rc=0 line min max
  RC=0 NOTE=""
  : >"$OUT/raw/$base.subs"
  timeout -k 5 $((TEST_TIMEOUT + 40)) "$SUBSCRIBERS_TOOL" --port "$port" \
    --channel "$PUBLISH_CHANNEL" --clients "$subs" --end "$PUBLISH_END" \
    --deadline $((TEST_TIMEOUT + 30)) >"$OUT/raw/$base.subs" 2>"$OUT/raw/$base.subs.err" &
  AUX_PID=$!
  deadline=$((SECONDS + READY_TIMEOUT))
  while ! grep -qx ready "$OUT/raw/$base.subs"; do
    if ! alive "$AUX_PID" || [ $SECONDS -ge $deadline ]; then
      STATUS=error RC=1
      NOTE="subscribers not ready: $(head -c 200 "$OUT/raw/$base.subs.err")"
      stop_aux
      return
    fi
    sleep 0.05
  done
  numsub=$(cli "$port" pubsub numsub "$PUBLISH_CHANNEL" | sed -n 2p)
  if [ "$numsub" != "$subs" ]; then
    STATUS=error RC=1 NOTE="PUBSUB NUMSUB said '$numsub', expected $subs subscribers"
    stop_aux
    return
  fi
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" "$TEST_TIMEOUT" \
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -P "$pipeline" --csv \
    publish "$PUBLISH_CHANNEL" "$(publish_payload "$size")" || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  # The end marker follows every message of the benchmark on the channel.
  cli "$port" publish "$PUBLISH_CHANNEL" "$PUBLISH_END" >/dev/null
  wait "$AUX_PID" || subs_rc=$?
  AUX_PID=""
  line=$(grep '^subscribers ' "$OUT/raw/$base.subs" || true)
  read -r _ _ _ min _ max _ <<<"${line:-x x x ? x ? x}"
  if [ "$subs_rc" -ne 0 ] || ! [[ $min =~ ^[0-9]+$ ]]; then
    [ "$STATUS" = ok ] && STATUS=lost
    NOTE="subscribers did not all get the end marker (rc $subs_rc): ${line:-no counts} $(head -c 200 "$OUT/raw/$base.subs.err")"
  elif [ "$min" -ne "$max" ] || [ "$min" -lt "$n" ]; then
    [ "$STATUS" = ok ] && STATUS=lost
    NOTE="$subs subscribers got between $min and $max messages each, $n were published"
  else
    NOTE="each of $subs subscriber(s) received all $min messages"
  fi
}

# Stops the subscriber process of a failed publish test.
stop_aux() {
  [ -n "$AUX_PID" ] || return 0
  kill -TERM "$AUX_PID" 2>/dev/null || true
  wait "$AUX_PID" 2>/dev/null || true
  AUX_PID=""
}

# ---- streams -------------------------------------------------------------
XWAKE_TOOL=$REPO/build/bench/xreadgroup-latency
XCONSUME_TOOL=$REPO/build/bench/xreadgroup-consume
XADD_KEY=bench:xadd

# XADD with an automatic ID: redis-benchmark's custom-command mode, every
# request adding one entry (one field, the first -d bytes) to one stream.
run_xadd() { # side size pipeline n base
  local side=$1 size=$2 pipeline=$3 n=$4 base=$5 port=${SIDE_PORT[$1]} len
  RC=0
  cli "$port" del "$XADD_KEY" >/dev/null
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" "$TEST_TIMEOUT" \
    redis-benchmark -h 127.0.0.1 -p "$port" -c "$CLIENTS" -n "$n" -P "$pipeline" --csv \
    xadd "$XADD_KEY" '*' f "$(publish_payload "$size")" || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  len=$(cli "$port" xlen "$XADD_KEY")
  if [ "$STATUS" = ok ] && { ! [[ $len =~ ^[0-9]+$ ]] || [ "$len" -lt "$n" ]; }; then
    STATUS=lost
    NOTE="XLEN $XADD_KEY said '$len' after $n XADDs"
  else
    NOTE="XLEN $XADD_KEY is $len after $n XADDs"
  fi
  cli "$port" del "$XADD_KEY" >/dev/null
}

# XREADGROUP COUNT 100 + XACK: bench/xreadgroup_consume.c drains a stream of
# n entries with XCONSUMERS consumers.
run_xconsume() { # side size n base
  local side=$1 size=$2 n=$3 base=$4
  RC=0
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" $((TEST_TIMEOUT + 10)) \
    "$XCONSUME_TOOL" --port "${SIDE_PORT[$side]}" --consumers "$XCONSUMERS" --entries "$n" \
    --count 100 --size "$size" --deadline "$TEST_TIMEOUT" || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  [ "$RC" -eq 2 ] && STATUS=timeout
  NOTE=$(tail -n 1 "$OUT/raw/$base.err" | sed 's/^xreadgroup-consume: //')
}

# XREADGROUP woken by XADD: bench/xreadgroup_latency.c, lock-step pairs as
# in the blpop test.
run_xwake() { # side size n base
  local side=$1 size=$2 n=$3 base=$4
  RC=0
  run_child "$OUT/raw/$base.csv" "$OUT/raw/$base.err" $((TEST_TIMEOUT + 10)) \
    "$XWAKE_TOOL" --port "${SIDE_PORT[$side]}" --pairs "$BLPOP_PAIRS" --messages "$n" \
    --size "$size" --deadline "$TEST_TIMEOUT" || RC=$?
  status_from "$RC" "$OUT/raw/$base.csv"
  [ "$RC" -eq 2 ] && STATUS=timeout
  NOTE=$(tail -n 1 "$OUT/raw/$base.err" | sed 's/^xreadgroup-latency: //')
}
