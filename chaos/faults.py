"""The fault suite's faults: each one breaks the cluster, holds the damage for
a while, then heals it, and says when it started and when it was healed.

Every fault is a function fault(cluster, hold_s, rng) -> dict with at least
"name", "start_ns", "heal_ns" and "detail"; "leader_lost" marks the faults
that take the leader away while a quorum remains (from "lost_ns", or the
start, to the first acknowledged write is a failover time); "no_quorum"
marks the combined faults that leave no majority of healthy nodes. They run on the main thread (the
one that starts server processes). A fault that cannot run on this cluster
returns {"skipped": reason}.
"""
import os
import shutil
import time

from cluster import CLIENT_PORT, RAFT_PORT


def _now():
    return time.monotonic_ns()


def _leader(cluster):
    n = cluster.wait_leader(15)
    if n is None:
        raise RuntimeError("no leader before the fault")
    return n


def _followers(cluster, leader):
    return [n for n in cluster.nodes if n is not leader and n.alive()]


def _quorum_left(cluster, down):
    """Whether a majority is left with `down` nodes out of the game."""
    return len(cluster.nodes) - down > len(cluster.nodes) // 2


def _hold(seconds):
    time.sleep(seconds)


def kill_leader(cluster, hold_s, rng):
    n = _leader(cluster)
    start = _now()
    n.kill()
    _hold(hold_s)
    heal = _now()
    n.start()
    return {"name": "kill-leader", "start_ns": start, "heal_ns": heal, "leader_lost": True,
            "detail": f"SIGKILL node {n.node_id} (leader), restarted after {hold_s:.1f}s"}


def kill_follower(cluster, hold_s, rng):
    n = rng.choice(_followers(cluster, _leader(cluster)))
    start = _now()
    n.kill()
    _hold(hold_s)
    heal = _now()
    n.start()
    return {"name": "kill-follower", "start_ns": start, "heal_ns": heal,
            "detail": f"SIGKILL node {n.node_id} (follower), restarted after {hold_s:.1f}s"}


def pause_leader(cluster, hold_s, rng):
    n = _leader(cluster)
    start = _now()
    n.pause()
    _hold(hold_s)
    heal = _now()
    n.resume()
    return {"name": "pause-leader", "start_ns": start, "heal_ns": heal, "leader_lost": True,
            "detail": f"SIGSTOP node {n.node_id} (leader) for {hold_s:.1f}s, then SIGCONT"}


def pause_follower(cluster, hold_s, rng):
    n = rng.choice(_followers(cluster, _leader(cluster)))
    start = _now()
    n.pause()
    _hold(hold_s)
    heal = _now()
    n.resume()
    return {"name": "pause-follower", "start_ns": start, "heal_ns": heal,
            "detail": f"SIGSTOP node {n.node_id} (follower) for {hold_s:.1f}s, then SIGCONT"}


def _partitioned(cluster, name, groups, hold_s, detail, **extra):
    cluster.net.partition(groups)
    start = _now()  # once every rule is in place (that takes a few commands)
    _hold(hold_s)
    heal = _now()
    cluster.net.heal()
    return dict({"name": name, "start_ns": start, "heal_ns": heal,
                 "detail": f"{detail} for {hold_s:.1f}s"}, **extra)


def isolate_leader(cluster, hold_s, rng):
    n = _leader(cluster)
    others = {m.slot for m in cluster.nodes if m is not n}
    return _partitioned(cluster, "isolate-leader", [{n.slot}, others], hold_s,
                        f"node {n.node_id} (leader) cut off from every peer", leader_lost=True)


def split(cluster, hold_s, rng):
    """A random minority against the majority; the leader may be on either side."""
    slots = [n.slot for n in cluster.nodes]
    rng.shuffle(slots)
    minority = set(slots[:len(slots) // 2])
    majority = set(slots) - minority
    leader = _leader(cluster)
    lost = leader.slot in minority
    return _partitioned(cluster, "split", [minority, majority], hold_s,
                        f"minority {sorted(minority)} / majority {sorted(majority)}, leader "
                        f"{leader.node_id} in the {'minority' if lost else 'majority'}",
                        leader_lost=lost)


def bridge(cluster, hold_s, rng):
    """One node sees both sides; the two sides do not see each other."""
    slots = [n.slot for n in cluster.nodes]
    rng.shuffle(slots)
    middle, rest = slots[0], slots[1:]
    half = len(rest) // 2
    a, b = set(rest[:half]), set(rest[half:])
    return _partitioned(cluster, "bridge", [a, b], hold_s,
                        f"node {middle} sees {sorted(a)} and {sorted(b)}, which do not see "
                        f"each other")


def kill_leader_while_split(cluster, hold_s, rng):
    """Combined: a follower cut off, then the leader killed (a three-node
    cluster has no quorum until the partition heals)."""
    leader = _leader(cluster)
    f = rng.choice(_followers(cluster, leader))
    others = {n.slot for n in cluster.nodes if n is not f}
    cluster.net.partition([{f.slot}, others])
    start = _now()
    _hold(hold_s / 2)
    lost = _now()
    leader.kill()
    _hold(hold_s / 2)
    heal = _now()
    cluster.net.heal()
    leader.start()
    return {"name": "isolate-follower+kill-leader", "start_ns": start, "heal_ns": heal,
            "lost_ns": lost, "leader_lost": _quorum_left(cluster, 2),
            "no_quorum": not _quorum_left(cluster, 2),
            "detail": f"node {f.node_id} cut off, then node {leader.node_id} (leader) killed; "
                      f"{hold_s:.1f}s in all"}


def pause_leader_kill_follower(cluster, hold_s, rng):
    """Combined: a follower killed while the leader is paused."""
    leader = _leader(cluster)
    f = rng.choice(_followers(cluster, leader))
    start = _now()
    leader.pause()
    f.kill()
    _hold(hold_s)
    heal = _now()
    leader.resume()
    f.start()
    return {"name": "pause-leader+kill-follower", "start_ns": start, "heal_ns": heal,
            "leader_lost": _quorum_left(cluster, 2), "no_quorum": not _quorum_left(cluster, 2),
            "detail": f"node {leader.node_id} (leader) paused and node {f.node_id} killed "
                      f"for {hold_s:.1f}s"}


# -- Membership faults: need RAFT NODE REMOVE ---------------------------------

def node_remove_supported(cluster):
    """RAFT NODE REMOVE of an id that is no member: an implementation says
    so ("not a member" or similar); without one the subcommand is unknown.
    Returns None when supported, else the server's answer."""
    leader = _leader(cluster)
    try:
        leader.command("RAFT", "NODE", "REMOVE", "999999")
    except Exception as e:
        text = str(e).lower()
        if "syntax" in text or "unknown subcommand" in text or "wrong number" in text:
            return str(e)
        return None
    return None


def remove_and_readd(cluster, hold_s, rng):
    reason = node_remove_supported(cluster)
    if reason:
        return {"skipped": f"RAFT NODE REMOVE answered: {reason}"}
    leader = _leader(cluster)
    f = rng.choice(_followers(cluster, leader))
    start = _now()
    leader.command("RAFT", "NODE", "REMOVE", str(f.node_id), timeout=10)
    _hold(hold_s)
    heal = _now()
    _leader(cluster).command("RAFT", "NODE", "ADD", str(f.node_id), f"{f.ip}:{RAFT_PORT}",
                             timeout=10)
    return {"name": "remove+re-add", "start_ns": start, "heal_ns": heal,
            "detail": f"node {f.node_id} removed, re-added after {hold_s:.1f}s"}


def wipe_and_rejoin(cluster, hold_s, rng):
    """A follower loses its disk: removed, wiped, back under a new id."""
    reason = node_remove_supported(cluster)
    if reason:
        return {"skipped": f"RAFT NODE REMOVE answered: {reason}"}
    leader = _leader(cluster)
    f = rng.choice(_followers(cluster, leader))
    start = _now()
    f.kill()
    leader.command("RAFT", "NODE", "REMOVE", str(f.node_id), timeout=10)
    shutil.rmtree(f.dir, ignore_errors=True)
    os.makedirs(f.dir)
    _hold(hold_s)
    heal = _now()
    old = f.node_id
    f.node_id = max(n.node_id for n in cluster.nodes) + 100
    f.join = f"{leader.ip}:{CLIENT_PORT}"
    f.start()
    return {"name": "wipe+rejoin", "start_ns": start, "heal_ns": heal,
            "detail": f"node {old} killed, removed and wiped; rejoined as node {f.node_id}"}


SHORT = [kill_leader, isolate_leader, pause_leader]
ALL = [kill_leader, kill_follower, pause_leader, pause_follower, isolate_leader, split, bridge,
       kill_leader_while_split, pause_leader_kill_follower, remove_and_readd, wipe_and_rejoin]
