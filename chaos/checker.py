"""The fault suite's checker: decides whether a recorded history is correct.

A history is a list of operations, each a dict:

    {"w": workload, "p": client, "f": kind, "k": key, "v": argument,
     "out": result, "t0": invocation ns, "t1": completion ns or None,
     "st": "ok" | "info" | "fail"}

"ok" means the server acknowledged it with this result, "fail" that it
certainly did not happen (the server said so: CLUSTERDOWN, or the connection
was refused before anything was sent), "info" that it may or may not have
happened (a timeout, a connection lost after sending, a TIMEOUT reply). An
"info" operation has no completion time: it may take effect at any moment
after its invocation, or never. Times come from time.monotonic_ns().

Three workloads, three checks:

* registers ("reg"): every key is a register read with GET, written with SET,
  incremented with INCR and compare-and-set with WATCH/MULTI/EXEC. The
  history of each key must be linearizable (Wing & Gong's search with Lowe's
  memoisation, as in Lowe, "Testing for linearizability", 2016): some total
  order of the operations, consistent with real time, in which every result
  is what a single register would have answered.
* list-append ("list"): RPUSH of unique values, LRANGE of the whole list.
  Every read is a prefix of the final list; a read never shows a value twice
  or one never attempted or not yet invoked; every append acknowledged before
  a read was invoked is in it; appends acknowledged one before another was
  invoked come in that order; RPUSH's reply (the new length) is the value's
  position in the final list; a value the server said failed never appears.
* bank ("bank"): MULTI/EXEC transfers between accounts; every read of all
  accounts (one MGET or one MULTI) sums to the initial total.

Each check returns a list of anomalies (plain strings, empty when correct).
"""
import math

INF = math.inf


# ---------------------------------------------------------------------------
# Registers: Wing-Gong-Lowe linearizability search
# ---------------------------------------------------------------------------

def register_step(state, op):
    """The register's sequential specification. Returns the list of states
    the register may be in after `op` (empty: op cannot happen in `state`).
    An indeterminate op ("info") has no result to match."""
    f, known = op["f"], op["st"] == "ok"
    if f == "read":
        return [state] if op["out"] == state else []
    if f == "write":
        return [op["v"]]
    if f == "incr":
        if state is not None and not isinstance(state, int):
            return []
        new = 1 if state is None else state + 1
        if known and op["out"] != new:
            return []
        return [new]
    if f == "cas":
        expected, new = op["v"]
        if state == expected:
            return [new] if known else [new, state]
        return [] if known else [state]
    raise ValueError(f"unknown register op {f!r}")


class _Event:
    """One end of an operation in the doubly linked list the search walks."""
    __slots__ = ("op", "index", "is_call", "match", "prev", "next")

    def __init__(self, op, index, is_call):
        self.op, self.index, self.is_call = op, index, is_call
        self.match = self.prev = self.next = None


def _event_list(ops):
    """The calls and returns of `ops` in time order, as a linked list behind a
    sentinel. At equal times calls come first, so touching operations count
    as concurrent (the permissive choice: it never invents an anomaly)."""
    events = []
    for i, op in enumerate(ops):
        call, ret = _Event(op, i, True), _Event(op, i, False)
        call.match = ret
        t1 = op["t1"] if op["st"] == "ok" else INF
        events.append((op["t0"], 0, i, call))
        events.append((t1, 1, i, ret))
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    head = _Event(None, -1, False)
    prev = head
    for _, _, _, e in events:
        prev.next, e.prev = e, prev
        prev = e
    return head


def _lift(call):
    call.prev.next = call.next
    call.next.prev = call.prev
    ret = call.match
    ret.prev.next = ret.next
    if ret.next is not None:
        ret.next.prev = ret.prev


def _unlift(call):
    ret = call.match
    ret.prev.next = ret
    if ret.next is not None:
        ret.next.prev = ret
    call.prev.next = call
    call.next.prev = call


def linearizable(ops, step=register_step, init=None, budget=2_000_000):
    """Wing & Gong's search with Lowe's cache. Returns (True, None) when the
    history is linearizable, (False, info) when it is not (info names the
    operation no order could place), (None, None) when the search spent
    `budget` steps without an answer.

    The search linearizes, one at a time, a call that is minimal (no
    unlinearized operation returned before it was invoked), tries the next
    candidate when the specification refuses one, and backtracks when it
    meets a return whose call is not linearized yet. The cache remembers
    every (set of linearized operations, state) pair already explored, so
    equivalent orders are not searched twice."""
    ops = [op for op in ops if op["st"] != "fail"
           and not (op["st"] == "info" and op["f"] == "read")]
    if not ops:
        return True, None
    head = _event_list(ops)
    cache = set()
    stack = []  # (call event, state before it, index of the next alternative)
    state, linearized = init, 0
    entry, first_alt = head.next, 0
    steps = 0
    stuck_at = None
    while head.next is not None:
        steps += 1
        if steps > budget:
            return None, None
        if entry.is_call:
            alternatives = step(state, entry.op)
            moved = False
            for a in range(first_alt, len(alternatives)):
                new_state = alternatives[a]
                new_linearized = linearized | (1 << entry.index)
                key = (new_linearized, new_state)
                if key in cache:
                    continue
                cache.add(key)
                stack.append((entry, state, a + 1))
                state, linearized = new_state, new_linearized
                _lift(entry)
                entry, first_alt, moved = head.next, 0, True
                break
            if not moved:
                entry, first_alt = entry.next, 0
        else:
            if stuck_at is None or entry.op["t1"] > stuck_at["t1"]:
                stuck_at = entry.op
            if not stack:
                return False, stuck_at
            call, state, first_alt = stack.pop()
            linearized &= ~(1 << call.index)
            _unlift(call)
            entry = call
    return True, None


def check_registers(ops, budget=2_000_000):
    """Linearizability of every register key. Returns (anomalies,
    inconclusive keys, number of keys checked)."""
    by_key = {}
    for op in ops:
        by_key.setdefault(op["k"], []).append(op)
    anomalies, inconclusive = [], []
    for key in sorted(by_key):
        ok, stuck = linearizable(by_key[key], budget=budget)
        if ok is None:
            inconclusive.append(key)
        elif not ok:
            anomalies.append(f"register {key}: not linearizable ({len(by_key[key])} ops); "
                             f"no order places {_describe(stuck)}")
    return anomalies, inconclusive, len(by_key)


def _describe(op):
    if op is None:
        return "?"
    args = f" {op['v']}" if op.get("v") is not None else ""
    return (f"client {op['p']} {op['f']}{args} -> {op.get('out')!r} "
            f"[{op['t0']}, {op['t1']}] {op['st']}")


# ---------------------------------------------------------------------------
# List-append
# ---------------------------------------------------------------------------

def check_lists(ops, final):
    """`final` maps every list key to its contents read after the run, with
    every fault healed. Returns the anomalies."""
    anomalies = []
    appends, reads = {}, {}
    for op in ops:
        if op["f"] == "append":
            appends.setdefault(op["k"], {})[op["v"]] = op
        elif op["f"] == "read" and op["st"] == "ok":
            reads.setdefault(op["k"], []).append(op)
    for key in sorted(set(appends) | set(reads) | set(final)):
        anomalies += _check_list(key, appends.get(key, {}), reads.get(key, []), final.get(key))
    return anomalies


def _check_list(key, appends, reads, final):
    out = []
    if final is None:
        return [f"list {key}: no final read"]
    acked = {v: op for v, op in appends.items() if op["st"] == "ok"}
    final_pos = {}
    for i, v in enumerate(final):
        if v in final_pos:
            out.append(f"list {key}: final state holds {v!r} twice")
        final_pos.setdefault(v, i)
    for v, op in appends.items():
        if op["st"] == "fail" and v in final_pos:
            out.append(f"list {key}: {v!r} appears though its RPUSH was reported as not executed")
    for v in final:
        if v not in appends:
            out.append(f"list {key}: final state holds {v!r}, never attempted")
    for v, op in acked.items():
        if v not in final_pos:
            out.append(f"list {key}: acknowledged append {v!r} lost from the final state")
        elif op["out"] != final_pos[v] + 1:
            out.append(f"list {key}: RPUSH {v!r} answered length {op['out']} but it sits at "
                       f"position {final_pos[v] + 1} of the final list")
    # Real-time order: acknowledged before the other was invoked => earlier.
    by_ack = sorted((op["t1"], v) for v, op in acked.items() if v in final_pos)
    by_invoke = sorted((op["t0"], v) for v, op in appends.items() if v in final_pos)
    out += _order_violations(key, "final state", by_ack, by_invoke, final_pos)
    # Every read is a prefix of the final list (appends only ever add at the
    # end), so a read misses an acknowledged value exactly when it is shorter
    # than that value's final position: sweep reads by invocation time.
    i, needed, needed_v = 0, 0, None
    for r in sorted(reads, key=lambda r: r["t0"]):
        while i < len(by_ack) and by_ack[i][0] < r["t0"]:
            v = by_ack[i][1]
            if final_pos[v] + 1 > needed:
                needed, needed_v = final_pos[v] + 1, v
            i += 1
        seen = r["out"]
        if seen != final[:len(seen)]:
            out.append(f"list {key}: read at [{r['t0']}, {r['t1']}] of {len(seen)} values is "
                       f"not a prefix of the final state ({_first_difference(seen, final)})")
            continue
        if len(seen) < needed:
            out.append(f"list {key}: read at [{r['t0']}, {r['t1']}] misses {needed_v!r}, "
                       f"acknowledged at {acked[needed_v]['t1']}")
        for v in seen:
            a = appends.get(v)
            if a is not None and a["t0"] > r["t1"]:
                out.append(f"list {key}: a read returned {v!r} before its RPUSH was invoked")
    # A read that completed before another was invoked is no longer.
    ordered = sorted(reads, key=lambda r: r["t1"])
    longest, longest_t1, i = 0, None, 0
    for r in sorted(reads, key=lambda r: r["t0"]):
        while i < len(ordered) and ordered[i]["t1"] < r["t0"]:
            done = ordered[i]
            i += 1
            if len(done["out"]) > longest:
                longest, longest_t1 = len(done["out"]), done["t1"]
        if len(r["out"]) < longest:
            out.append(f"list {key}: read at [{r['t0']}, {r['t1']}] saw {len(r['out'])} values, "
                       f"one completed at {longest_t1} had already seen {longest}")
    return out


def _order_violations(key, where, by_ack, by_invoke, pos):
    """For every value b, every value a acknowledged before b was invoked
    must sit before b. Sweeps b by invocation time keeping the largest
    position among the values acknowledged so far."""
    out, i, worst = [], 0, None
    for t0, b in by_invoke:
        while i < len(by_ack) and by_ack[i][0] < t0:
            v = by_ack[i][1]
            if worst is None or pos[v] > pos[worst]:
                worst = v
            i += 1
        if worst is not None and pos[worst] > pos[b]:
            out.append(f"list {key}: {worst!r} was acknowledged before {b!r} was invoked "
                       f"but comes after it in the {where}")
    return out


def _first_difference(a, b):
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return f"position {i + 1}: {x!r} where the final list has {y!r}"
    return f"{len(a)} values where the final list has {len(b)}"


# ---------------------------------------------------------------------------
# Bank
# ---------------------------------------------------------------------------

def check_bank(ops, total):
    anomalies = []
    for op in ops:
        if op["f"] == "read" and op["st"] == "ok":
            balances = op["out"]
            if any(b is None for b in balances):
                anomalies.append(f"bank: read at [{op['t0']}, {op['t1']}] misses an account: "
                                 f"{balances}")
            elif sum(balances) != total:
                anomalies.append(f"bank: read at [{op['t0']}, {op['t1']}] sums to "
                                 f"{sum(balances)}, not {total}: {balances}")
    return anomalies


# ---------------------------------------------------------------------------
# Locks
# ---------------------------------------------------------------------------

def check_locks(ops):
    """Fencing tokens only grow: a grant invoked after another completed has
    a larger token (the same one only for the same owner renewing its own
    hold; the workload never renews), whatever the locks. Mutual exclusion: a release that found its
    token still holding (answered 1) must not follow a later grant of the
    same lock that had already completed: both would have held it at once."""
    anomalies = []
    grants = [op for op in ops if op["f"] == "acquire" and op["st"] == "ok" and op["out"] is not None]
    by_end = sorted(grants, key=lambda op: op["t1"])
    by_start = sorted(grants, key=lambda op: op["t0"])
    best, i = None, 0
    for b in by_start:
        while i < len(by_end) and by_end[i]["t1"] < b["t0"]:
            if best is None or by_end[i]["out"] > best["out"]:
                best = by_end[i]
            i += 1
        if best is None:
            continue
        if b["out"] < best["out"] or (b["out"] == best["out"] and b["v"] != best["v"]):
            anomalies.append(f"lock: token {b['out']} granted to {b['v']} on {b['k']} at "
                             f"[{b['t0']}, {b['t1']}] is not above token {best['out']} granted "
                             f"to {best['v']} on {best['k']}, which completed at {best['t1']}")
    for r in ops:
        if r["f"] != "release" or r["st"] != "ok" or r["out"] != 1:
            continue
        for g in grants:
            if g["k"] == r["k"] and g["out"] > r["v"] and g["t1"] < r["t0"]:
                anomalies.append(f"lock: {r['k']} was granted with token {g['out']} at "
                                 f"[{g['t0']}, {g['t1']}] while token {r['v']} still held it "
                                 f"(its release at {r['t0']} answered 1)")
    return anomalies


# ---------------------------------------------------------------------------
# Everything
# ---------------------------------------------------------------------------

def check_history(history, final_lists, bank_total, budget=2_000_000):
    """Runs the three checks. Returns a dict: anomalies (list of strings),
    inconclusive (register keys whose search ran out of budget), keys."""
    reg = [op for op in history if op["w"] == "reg"]
    lst = [op for op in history if op["w"] == "list"]
    bank = [op for op in history if op["w"] == "bank"]
    locks = [op for op in history if op["w"] == "lock"]
    reg_anomalies, inconclusive, keys = check_registers(reg, budget)
    anomalies = reg_anomalies + check_lists(lst, final_lists)
    if bank:
        anomalies += check_bank(bank, bank_total)
    anomalies += check_locks(locks)
    return {"anomalies": anomalies, "inconclusive": inconclusive, "register_keys": keys,
            "list_keys": len(final_lists)}
