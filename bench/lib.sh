# bench/lib.sh — sourced by the benchmark scripts that start servers of
# their own (reqrep.sh, secure.sh): stopping them.

# stop_pids PID...: SIGTERM to each, up to 10 s for each to exit, then
# SIGKILL; every one is waited for.
stop_pids() {
  local pid i
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
}
