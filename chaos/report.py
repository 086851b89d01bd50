"""The fault suite's figures: counts of operations, recovery after each fault,
failover times, throughput while a follower is down; as text for the
terminal and as Markdown for chaos/RESULTS.md. Everything is computed from
the recorded history after the run, never measured by the nemesis itself.
"""
import bisect
import statistics

WRITES = {("reg", "write"), ("reg", "incr"), ("reg", "cas"), ("list", "append"),
          ("bank", "transfer"), ("probe", "write")}
NS = 1_000_000_000


def op_counts(history):
    """{workload: {"attempted", "ok", "info", "fail"}} and the totals."""
    counts = {}
    for op in history:
        if op["w"] == "probe":
            continue
        c = counts.setdefault(op["w"], {"attempted": 0, "ok": 0, "info": 0, "fail": 0})
        c["attempted"] += 1
        c[op["st"]] += 1
    total = {k: sum(c[k] for c in counts.values()) for k in ("attempted", "ok", "info", "fail")}
    return counts, total


class Timeline:
    """Acknowledged writes by invocation time, and every acknowledged op by
    completion time, for questions about windows of the run."""

    def __init__(self, history):
        writes = sorted((op["t0"], op["t1"]) for op in history
                        if op["st"] == "ok" and (op["w"], op["f"]) in WRITES)
        self.write_t0 = [w[0] for w in writes]
        self.write_t1 = [w[1] for w in writes]
        self.done = sorted(op["t1"] for op in history if op["st"] == "ok" and op["w"] != "probe")

    def first_write_after(self, t_ns):
        """Seconds from t_ns to the acknowledgement of the first write invoked
        at or after t_ns that was acknowledged; None if there is none."""
        i = bisect.bisect_left(self.write_t0, t_ns)
        if i >= len(self.write_t0):
            return None
        return (min(self.write_t1[i:i + 2000]) - t_ns) / NS

    def rate(self, a_ns, b_ns):
        """Acknowledged operations per second completing in [a, b]."""
        if b_ns <= a_ns:
            return None
        n = bisect.bisect_right(self.done, b_ns) - bisect.bisect_left(self.done, a_ns)
        return n / ((b_ns - a_ns) / NS)


def fault_figures(faults, history):
    """Adds to each fault: unavailable_s (fault start to the first write
    acknowledged among those invoked after it: the failover time when the
    leader was lost) and recovered_s (the same from the heal). For follower
    kills, the throughput before, during and after."""
    tl = Timeline(history)
    for f in faults:
        if "skipped" in f:
            continue
        f["unavailable_s"] = tl.first_write_after(f["start_ns"])
        f["recovered_s"] = tl.first_write_after(f["heal_ns"])
        if f.get("leader_lost"):
            f["failover_s"] = tl.first_write_after(f.get("lost_ns", f["start_ns"]))
        if f["name"] == "kill-follower":
            s, h = f["start_ns"], f["heal_ns"]
            f["rate_before"] = tl.rate(s - 3 * NS, s)
            f["rate_during"] = tl.rate(s + NS // 2, h)
            f["rate_after"] = tl.rate(h + NS // 2, h + 3 * NS)
    return faults


def slow_with_quorum(faults, limit_s=2.0):
    """Faults that left a majority of healthy nodes, yet kept every write
    waiting longer than limit_s (a failover takes about half a second)."""
    return [f for f in faults if "skipped" not in f and not f.get("no_quorum")
            and f.get("unavailable_s") is not None and f["unavailable_s"] > limit_s]


def failover_stats(faults):
    times = [f["failover_s"] for f in faults if f.get("failover_s") is not None]
    if not times:
        return None
    return {"n": len(times), "median": statistics.median(times), "worst": max(times)}


def _s(x):
    return "—" if x is None else f"{x:.2f} s"


def _r(x):
    return "—" if x is None else f"{x:,.0f}/s"


def _problem(text):
    """A list item: the first line, and what follows it (a server's last
    log lines, the membership at the time) as an indented code block."""
    first, *rest = text.splitlines()
    if not rest:
        return f"- {first}"
    return "\n".join([f"- {first}", "", "  ```"] + [f"  {line}" for line in rest] + ["  ```"])


def text_summary(res):
    lines = [f"== chaos: {res['nodes']} nodes, {res['seconds']:.0f} s, seed {res['seed']}"]
    counts, total = res["counts"], res["total"]
    lines.append(f"operations: {total['attempted']} attempted, {total['ok']} acknowledged, "
                 f"{total['info']} indeterminate, {total['fail']} failed (not executed)")
    for w, c in sorted(counts.items()):
        lines.append(f"  {w:5} {c['attempted']:7} attempted {c['ok']:7} ok {c['info']:5} info "
                     f"{c['fail']:5} fail")
    if res["errors"]:
        lines.append("client-side errors: " + ", ".join(f"{k} {v}" for k, v in
                                                        sorted(res["errors"].items())))
    done = [f for f in res["faults"] if "skipped" not in f]
    lines.append(f"faults injected: {len(done)}")
    for f in done:
        fo = f"failover {_s(f['failover_s']):>7}" if f.get("failover_s") is not None else " " * 16
        lines.append(f"  {f['name']:28} unavailable {_s(f['unavailable_s']):>7}  {fo}  "
                     f"recovered {_s(f['recovered_s']):>7} after heal  {f['detail']}")
    for f in res["faults"]:
        if "skipped" in f:
            lines.append(f"  skipped {f['fault']}: {f['skipped']}")
    fo = failover_stats(res["faults"])
    if fo:
        lines.append(f"failover (leader lost -> first acknowledged write): median "
                     f"{fo['median']:.2f} s, worst {fo['worst']:.2f} s over {fo['n']}")
    for f in slow_with_quorum(res["faults"]):
        lines.append(f"note: {f['name']} left a quorum but writes waited "
                     f"{f['unavailable_s']:.2f} s ({f['detail']})")
    lines.append(f"replicas converged: {'yes' if res['converged'] else 'NO'}")
    lines.append(f"register keys checked: {res['check']['register_keys']}, list keys: "
                 f"{res['check']['list_keys']}, checker time {res['check_seconds']:.1f} s")
    if res["check"]["inconclusive"]:
        lines.append(f"INCONCLUSIVE register keys (search budget spent): "
                     f"{res['check']['inconclusive']}")
    lines.append(f"anomalies: {len(res['anomalies'])} ({len(res['check']['anomalies'])} in the "
                 f"history, the rest problems of the run)")
    for a in res["anomalies"][:30]:
        lines.append(f"  ANOMALY {a}")
    return "\n".join(lines)


def markdown(results, command, when):
    out = ["# Fault-injection results", "",
           f"Written by `{command}` on {when}. Real parley-server processes, each in its "
           "own network namespace on a bridge; clients in the root namespace (see "
           "*Fault injection* in the README). Figures come from the recorded "
           "history; nothing here is a timed assertion. The machine: 2 cores shared by "
           "the servers, the suite's clients and whatever else runs.", ""]
    for res in results:
        counts, total = res["counts"], res["total"]
        out += [f"## {res['nodes']} nodes, {res['seconds']:.0f} s of faults (seed {res['seed']})",
                "",
                f"Server flags: `{' '.join(res.get('flags', []))}`.", "",
                f"**History anomalies: {len(res['check']['anomalies'])}. Problems of the run "
                f"(crashes, faults not recovered from): "
                f"{len(res['anomalies']) - len(res['check']['anomalies'])}.** "
                f"Replicas converged at the end: "
                f"{'yes' if res['converged'] else 'no'}. Checker: {res['check']['register_keys']} "
                f"register keys (linearizability), {res['check']['list_keys']} lists, the bank "
                f"total; inconclusive keys: {len(res['check']['inconclusive'])}.", "",
                "| workload | attempted | acknowledged | indeterminate | failed |",
                "|---|---:|---:|---:|---:|"]
        for w, c in sorted(counts.items()):
            out.append(f"| {w} | {c['attempted']} | {c['ok']} | {c['info']} | {c['fail']} |")
        out.append(f"| **all** | {total['attempted']} | {total['ok']} | {total['info']} | "
                   f"{total['fail']} |")
        out += ["", "| fault | what | unavailable | failover | recovered after heal |",
                "|---|---|---:|---:|---:|"]
        for f in res["faults"]:
            if "skipped" in f:
                continue
            out.append(f"| {f['name']} | {f['detail']} | {_s(f['unavailable_s'])} | "
                       f"{_s(f.get('failover_s'))} | {_s(f['recovered_s'])} |")
        skipped = [f for f in res["faults"] if "skipped" in f]
        if skipped:
            out += [""] + [f"Skipped `{f['fault']}`: {f['skipped']}" for f in skipped]
        fo = failover_stats(res["faults"])
        out += ["", "*Unavailable*: from the fault to the acknowledgement of the first write "
                "invoked after it (any client, including one probe client per node that "
                "writes its own key every 10 ms). *Failover*: the same from the moment the "
                "leader was lost, for faults that leave a quorum. *Recovered after heal*: the "
                "same from the moment the fault ended (node restarted, resumed, or partition "
                "healed).", ""]
        if fo:
            out.append(f"Failover (leader lost to first acknowledged write): median "
                       f"**{fo['median']:.2f} s**, worst **{fo['worst']:.2f} s** over "
                       f"{fo['n']} faults that took the leader away.")
        slow = slow_with_quorum(res["faults"])
        if slow:
            out += ["", "Faults that left a majority of healthy nodes but kept writes waiting "
                    "more than 2 s. A liveness figure, not an anomaly: a node that crashed "
                    "(see the anomalies below) or one that had not caught up since an earlier "
                    "fault leaves the cluster one failure less to spare:", ""]
            out += [f"- {f['name']}: {f['detail']}: {f['unavailable_s']:.2f} s" for f in slow]
        rates = [f for f in res["faults"] if f.get("rate_during") is not None]
        if rates:
            out += ["", "Throughput of acknowledged operations (the suite's Python clients, "
                    "which are themselves the bottleneck) around follower kills:", "",
                    "| fault | 3 s before | while down | 3 s after restart |", "|---|---:|---:|---:|"]
            for f in rates:
                out.append(f"| {f['detail']} | {_r(f['rate_before'])} | {_r(f['rate_during'])} "
                           f"| {_r(f['rate_after'])} |")
        if res["anomalies"]:
            out += ["", "Anomalies (and problems of the run: crashes, faults not recovered "
                    "from):", ""] + [_problem(a) for a in res["anomalies"][:50]]
        out.append("")
    return "\n".join(out)
