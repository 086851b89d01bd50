#!/usr/bin/python3
"""Parley's fault-injection suite: a real cluster, real faults, a checker.

    chaos/run.py short            leader SIGKILL, leader isolated, leader paused
                                  (twice each), a follower kill, a split, a bridge
                                  node; 3 nodes, about a minute
    chaos/run.py long             3 nodes, then 5 nodes, every fault class, small
                                  snapshot settings, about 9 minutes; writes
                                  chaos/RESULTS.md (--sizes 3 for one size only)
    chaos/run.py only F1,F2 [--nodes N]
                                  just these faults (names as in faults.ALL), once
                                  each: to reproduce one class of fault
    chaos/run.py check FILE       re-checks a history saved by a failed run
    chaos/run.py selftest         a run with a client that writes without
                                  recording it: passes only if the checker
                                  reports anomalies in registers and lists

Needs root (network namespaces). Starts build/parley-server (or
$PARLEY_SERVER), one process per namespace, runs register, list-append and
bank clients against every node while faults come and go, then heals
everything, reads the final state, and checks the history (checker.py).
Exits 1 on any anomaly, on replicas that do not converge, on a server that
exits on its own, or when the cluster does not recover from a fault; 0 otherwise (also when it cannot run
here, saying why). Everything it creates (namespaces, bridge, processes,
temporary directory) is removed on the way out, also on Ctrl-C or SIGTERM.
"""
import argparse
import datetime
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import checker  # noqa: E402
import faults  # noqa: E402
import net  # noqa: E402
import report  # noqa: E402
import workloads  # noqa: E402
from cluster import RAFT_PORT, SERVER, Cluster, member_lines  # noqa: E402

SERVER_FLAGS = ["--request-timeout-ms", "3000"]
# The long form also runs with small snapshot settings: a snapshot every half
# second or so, and a node that was down or cut off comes back through a
# snapshot install. That is where libraft 0.22.1 was seen to crash (SIGSEGV
# in legacy.c's snapshot-put callback, see chaos/RESULTS.md); the short form
# in `make test` keeps the defaults so it does not fail on that known crash.
SMALL_SNAPSHOTS = ["--raft-snapshot-threshold", "512", "--raft-snapshot-trailing", "256"]
KEEP_DIR = os.path.join(os.path.dirname(HERE), "build", "chaos")


def say(msg):
    print(f"[chaos {time.strftime('%H:%M:%S')}] {msg}", flush=True)


class Run:
    """One cluster, its clients and its faults; everything it creates is
    released by close()."""

    def __init__(self, nodes, seed, base_dir, rogue=False, flags=()):
        self.rogue = rogue
        self.flags = SERVER_FLAGS + list(flags)
        self.seed = seed
        self.rng = random.Random(seed)
        self.network = net.Network(range(1, nodes + 1))
        self.cluster = None
        self.clients = []
        self.state = None
        self.base_dir = base_dir
        self.faults = []
        self.problems = []   # a fault the cluster did not recover from, a hung client

    def start(self):
        self.network.create()
        self.cluster = Cluster(self.network, self.base_dir, self.flags)
        self.cluster.start()
        leader = self.cluster.wait_leader()
        say(f"{len(self.cluster.nodes)} nodes up on {self.network.subnet}, "
            f"leader node {leader.node_id}")
        self.state = workloads.RunState(self.seed)
        accounts = {f"bank:{i}": self.state.bank_initial
                    for i in range(self.state.bank_accounts)}
        leader.command("MSET", *[x for kv in accounts.items() for x in kv], timeout=10)
        self.clients = workloads.start_clients([n.ip for n in self.cluster.nodes], self.state,
                                               rogue=self.rogue)

    def check_crashes(self):
        """A server that exited on its own is a problem of the run (a crash);
        it is restarted so the run goes on."""
        for n in self.cluster.nodes:
            code = n.exited_unexpectedly()
            if code is not None:
                self.problems.append(f"node {n.node_id} exited on its own with code {code}:\n"
                                     + n.log_tail(15))
                say(f"NODE {n.node_id} EXITED ON ITS OWN with code {code}; restarting it")
                n.start()

    def membership(self):
        """What each live node says of the members and the leader, and its
        last log lines: what a failed fault leaves to read."""
        out = []
        for n in self.cluster.live():
            try:
                info = n.raft_info()
                members = " ".join(member_lines(info))
                out.append(f"node {n.node_id}: {info.get('role')} term {info.get('term')} "
                           f"leader {info.get('leader_id')}; members {members}")
            except Exception as e:
                out.append(f"node {n.node_id}: RAFT INFO failed: {e!r}")
            out += [f"  | {line}" for line in n.log_tail(6).splitlines()]
        return "\n".join(out)

    def readd_missing(self):
        """A membership fault that failed half-way may leave a node out of
        the configuration: it is added back, so the run goes on whole."""
        try:
            leader = self.cluster.wait_leader(15)
            info = leader.raft_info() if leader else {}
            ids = {line.split("@", 1)[0] for line in member_lines(info)}
            for n in self.cluster.nodes:
                if ids and str(n.node_id) not in ids:
                    say(f"  adding node {n.node_id} back")
                    leader.command("RAFT", "NODE", "ADD", str(n.node_id),
                                   f"{n.ip}:{RAFT_PORT}", timeout=15)
        except Exception as e:
            self.problems.append(f"adding removed nodes back failed: {e!r}")

    def inject(self, fault, hold_s):
        self.check_crashes()
        try:
            result = fault(self.cluster, hold_s, self.rng)
        except Exception as e:
            # No leader to aim at, a membership command refused...: a
            # problem of the run; heal what the fault may have left broken.
            self.problems.append(f"{fault.__name__} failed: {e!r}\n" + self.membership())
            say(f"{fault.__name__} FAILED: {e!r}")
            self.check_crashes()
            self.network.heal()
            for n in self.cluster.nodes:
                n.resume()
                if not n.alive():
                    n.start()
            self.readd_missing()
            return
        if "skipped" in result:
            if not any(f.get("fault") == fault.__name__ for f in self.faults):
                say(f"skipped {fault.__name__}: {result['skipped']}")
                self.faults.append({"fault": fault.__name__, "skipped": result["skipped"]})
            return
        say(f"{result['name']}: {result['detail']}")
        self.faults.append(result)
        try:
            took = self.cluster.wait_writable(30)
            say(f"  writable again {took:.2f} s after the heal")
        except RuntimeError as e:
            self.problems.append(f"after {result['name']}: {e}")
            say(f"  NOT RECOVERED: {e}")

    def finish(self):
        """Stops the clients, checks the cluster is whole again, reads the
        final state, runs the checker. Returns the result dict."""
        self.state.stop.set()
        deadline = time.monotonic() + 30
        for c in self.clients:
            c.join(max(0.1, deadline - time.monotonic()))
        hung = [c.name for c in self.clients if c.is_alive()]
        if hung:
            self.problems.append(f"clients still blocked 30 s after the stop: {hung}")
        history = [op for c in self.clients for op in c.history]
        errors = {}
        for c in self.clients:
            for k, v in c.errors.items():
                errors[k] = errors.get(k, 0) + v
        self.check_crashes()
        for n in self.cluster.nodes:
            n.resume()
            if not n.alive():
                n.start()
        self.network.heal()
        try:
            self.cluster.wait_writable(30)
        except RuntimeError as e:
            self.problems.append(f"at the end: {e}")
        converged = self.cluster.wait_converged(30)
        if not converged:
            self.problems.append("replicas did not converge (RAFT DIGEST differs)")
        final_lists = self.final_reads(history)
        for node_id, code in self.cluster.shutdown().items():
            self.problems.append(f"node {node_id} did not exit cleanly on SIGTERM: {code}")
        t = time.monotonic()
        total = self.state.bank_initial * self.state.bank_accounts
        check = checker.check_history(history, final_lists, total)
        counts, totals = report.op_counts(history)
        res = {"nodes": len(self.cluster.nodes), "seed": self.seed, "flags": self.flags,
               "seconds": time.monotonic() - self.state.started, "counts": counts,
               "total": totals, "errors": errors, "converged": converged,
               "faults": report.fault_figures(self.faults, history), "check": check,
               "anomalies": check["anomalies"] + self.problems,
               "check_seconds": time.monotonic() - t}
        if res["anomalies"] and not self.rogue:
            self.save(history, final_lists, total, res)
        return res

    def final_reads(self, history):
        """Every list's final contents, and one last read of every register
        key (added to the history), through whichever node answers."""
        final, nodes = {}, self.cluster.nodes
        keys = sorted({op["k"] for op in history if op["w"] == "list"}
                      | self.state.list_keys_used)
        regs = sorted({op["k"] for op in history if op["w"] == "reg"})
        for kind, key in [("list", k) for k in keys] + [("reg", k) for k in regs]:
            deadline = time.monotonic() + 20
            while True:
                n = nodes[self.rng.randrange(len(nodes))]
                t0 = time.monotonic_ns()
                try:
                    if kind == "list":
                        final[key] = n.command("LRANGE", key, 0, -1, timeout=5)
                    else:
                        v = n.command("GET", key, timeout=5)
                        history.append({"w": "reg", "p": "final", "f": "read", "k": key,
                                        "v": None, "out": None if v is None else int(v),
                                        "t0": t0, "t1": time.monotonic_ns(), "st": "ok"})
                    break
                except Exception as e:
                    if time.monotonic() > deadline:
                        self.problems.append(f"final read of {key} failed: {e!r}")
                        break
                    time.sleep(0.1)
        return final

    def save(self, history, final_lists, total, res):
        os.makedirs(KEEP_DIR, exist_ok=True)
        path = os.path.join(KEEP_DIR, f"history-{os.getpid()}-{res['nodes']}n.json")
        with open(path, "w") as f:
            json.dump({"history": history, "final_lists": final_lists, "bank_total": total,
                       "anomalous": bool(res["check"]["anomalies"]), "seed": self.seed,
                       "faults": self.faults, "anomalies": res["anomalies"]}, f)
        for n in self.cluster.nodes:
            shutil.copy(n.log_path, os.path.join(KEEP_DIR, f"{os.getpid()}-{os.path.basename(n.log_path)}"))
        say(f"history and server logs kept in {KEEP_DIR} ({os.path.basename(path)})")

    def close(self):
        if self.state is not None:
            self.state.stop.set()
        if self.cluster is not None:
            self.cluster.stop()
        self.network.destroy()


def quiet(seconds):
    time.sleep(seconds)


def short_schedule(run):
    """The leader killed, cut off and paused, twice each with different hold
    times; then a follower down long enough to come back by snapshot, a
    minority/majority split and a bridge node."""
    quiet(3)
    for fault, hold in ((faults.kill_leader, 3.0), (faults.isolate_leader, 4.0),
                        (faults.pause_leader, 2.5), (faults.kill_leader, 1.0),
                        (faults.isolate_leader, 2.0), (faults.pause_leader, 1.5),
                        (faults.kill_follower, 4.0), (faults.split, 3.0),
                        (faults.bridge, 3.0)):
        run.inject(fault, hold)
        quiet(3)


def long_schedule(run, seconds):
    """Every fault class once (a follower kill first, held long enough to
    measure throughput), then random faults until `seconds` have passed,
    leader faults most often."""
    weighted = ([faults.kill_leader] * 4 + [faults.isolate_leader] * 2 + [faults.pause_leader] * 2
                + [faults.kill_follower, faults.pause_follower, faults.split, faults.bridge,
                   faults.kill_leader_while_split, faults.pause_leader_kill_follower,
                   faults.remove_and_readd, faults.wipe_and_rejoin])
    first_pass = [f for f in faults.ALL if f is not faults.kill_follower]
    run.rng.shuffle(first_pass)
    first_pass.insert(0, faults.kill_follower)
    end = time.monotonic() + seconds
    quiet(4)
    while time.monotonic() < end:
        fault = first_pass.pop(0) if first_pass else run.rng.choice(weighted)
        hold = 8.0 if fault is faults.kill_follower else run.rng.uniform(1.5, 5.0)
        run.inject(fault, hold)
        quiet(4)


def one_run(nodes, seed, schedule, keep, rogue=False, flags=()):
    base = tempfile.mkdtemp(prefix=f"parley-chaos-{os.getpid()}-")
    run = Run(nodes, seed, base, rogue, flags)
    try:
        run.start()
        schedule(run)
        res = run.finish()
    finally:
        run.close()
        if keep:
            say(f"kept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    print(report.text_summary(res), flush=True)
    return res


def on_signal(signum, frame):
    raise SystemExit(f"stopped by signal {signum}")


def main():
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("form", choices=["short", "long", "only", "check", "selftest"])
    p.add_argument("file", nargs="?", help="history to check (check); faults (only)")
    p.add_argument("--nodes", type=int, default=3, help="cluster size (only)")
    p.add_argument("--hold", type=float, default=3.0, help="seconds each fault lasts (only)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--seconds", type=float, default=None,
                   help="long form: seconds of faults per cluster size (default 180 and 240)")
    p.add_argument("--sizes", default="3,5", help="long form: cluster sizes, in order")
    p.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"))
    p.add_argument("--keep", action="store_true", help="keep the data directories")
    p.add_argument("--small-snapshots", action="store_true",
                   help="short/only: run the servers with the long form's snapshot settings")
    p.add_argument("--default-snapshots", action="store_true",
                   help="long: run the servers with the default snapshot settings")
    a = p.parse_args()
    if a.form == "check":
        with open(a.file) as f:
            saved = json.load(f)
        res = checker.check_history(saved["history"], saved["final_lists"], saved["bank_total"])
        for x in res["anomalies"]:
            print("ANOMALY", x)
        print(f"{len(res['anomalies'])} anomalies, inconclusive keys: {res['inconclusive']}")
        return 1 if res["anomalies"] else 0
    reason = net.available()
    if reason:
        say(f"not run: {reason}")
        return 0
    if not os.access(SERVER, os.X_OK):
        say(f"no server at {SERVER}: build it first (make)")
        return 1
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    net.remove_stale(tempfile.gettempdir())
    seed = a.seed if a.seed is not None else random.randrange(1 << 30)
    results = []
    if a.form == "short":
        results.append(one_run(3, seed, short_schedule, a.keep,
                               flags=SMALL_SNAPSHOTS if a.small_snapshots else ()))
    elif a.form == "selftest":
        def schedule(run):
            quiet(3)
            run.inject(faults.kill_leader, 2.0)
            quiet(4)
        res = one_run(3, seed, schedule, a.keep, rogue=True)
        caught = {w for w in ("register", "list") if any(x.startswith(w) for x in res["anomalies"])}
        say(f"self-test: the checker caught the unrecorded writes in: {sorted(caught) or 'nothing'}")
        return 0 if caught == {"register", "list"} else 1
    elif a.form == "only":
        chosen = [getattr(faults, name.replace("-", "_")) for name in a.file.split(",")]

        def schedule(run):
            quiet(3)
            for fault in chosen:
                run.inject(fault, a.hold)
                quiet(3)
        results.append(one_run(a.nodes, seed, schedule, a.keep,
                               flags=SMALL_SNAPSHOTS if a.small_snapshots else ()))
    else:
        default = {3: 180, 5: 240}
        plan = [(int(n), a.seconds or default.get(int(n), 180)) for n in a.sizes.split(",")]
        for i, (nodes, seconds) in enumerate(plan):
            results.append(one_run(nodes, seed + i, lambda r, s=seconds: long_schedule(r, s),
                                   a.keep, flags=() if a.default_snapshots else SMALL_SNAPSHOTS))
        when = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        with open(a.results, "w") as f:
            f.write(report.markdown(results, "make chaos", when))
        say(f"wrote {a.results}")
    bad = sum(len(r["anomalies"]) for r in results)
    say(f"{'FAILED' if bad else 'passed'}: {bad} anomalies")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
