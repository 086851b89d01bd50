"""The map/reduce example (examples/mapreduce.c, hiredis): three worker
processes campaign for leadership on a three-node cluster; the leader splits
a generated text into tasks, the others count its words, the leader adds
the counts up. The leader process is killed mid-job: another takes over
from the state kept in Parley and writes the one final result, with exact
counts. An observer process follows it all through pub/sub and READONLY
reads on an observer node."""
import collections
import random
import re
import signal
import subprocess

import pytest

from conftest import Node, wait_until

TASKS = 40


@pytest.fixture(scope="module")
def mapreduce(examples):
    return examples("mapreduce")


def generate_text(path):
    """A text whose word counts are known: mixed case and punctuation,
    counted as lower-case runs of letters and digits."""
    rng = random.Random(15)
    vocabulary = [f"w{i}" for i in range(300)] + ["Raft", "log", "leader", "term"]
    counts = collections.Counter()
    with open(path, "w") as f:
        for _ in range(3000):
            words = [rng.choice(vocabulary) for _ in range(rng.randint(0, 12))]
            counts.update(w.lower() for w in words)
            f.write(" ".join(w + rng.choice(["", "", ",", ".", "!"]) for w in words) + "\n")
    return counts


def test_the_leader_killed_mid_job_another_writes_the_one_exact_result(mapreduce, make_cluster, tmp_path):
    cl = make_cluster().start()
    hosts = ",".join(f"127.0.0.1:{n.port}" for n in cl.nodes)
    obs = Node(str(tmp_path), node_id=4, extra=["--join", f"127.0.0.1:{cl.nodes[0].port}"])
    assert cl.nodes[0].client().execute_command(
        "RAFT", "NODE", "ADD", 4, obs.raft_addr, "OBSERVER") == "OK"
    obs.start()
    text = tmp_path / "text.txt"
    expected = generate_text(text)
    c = cl.leader().client()
    procs = {}
    try:
        c.set("mr:probe", "1")
        ro = obs.client()
        assert ro.execute_command("READONLY") is True
        wait_until(lambda: ro.get("mr:probe") == "1", 20, message="the observer node to apply the log")
        observer_out = tmp_path / "observer.out"
        with open(observer_out, "wb") as out, open(tmp_path / "observer.log", "ab") as log:
            procs["observer"] = subprocess.Popen(
                [mapreduce, "-h", f"127.0.0.1:{obs.port}", "observe"], stdout=out, stderr=log)
        wait_until(lambda: "subscribed" in observer_out.read_text(), 20, message="the observer to subscribe")
        for w in ("w1", "w2", "w3"):
            with open(tmp_path / f"{w}.log", "ab") as log:
                procs[w] = subprocess.Popen(
                    [mapreduce, "-h", hosts, "--name", w, "--input", str(text), "--tasks", str(TASKS),
                     "--work-ms", "100", "worker"], stdout=log, stderr=subprocess.STDOUT)
        wait_until(lambda: c.hlen("mr:parts") >= 5, 60, message="some tasks mapped")
        first, token = c.execute_command("ELECT.LEADER", "mr:leader")
        procs[first].send_signal(signal.SIGKILL)
        procs[first].wait(10)
        assert c.hlen("mr:parts") < TASKS  # mid-job
        for w in ("w1", "w2", "w3"):
            if w != first:
                assert procs[w].wait(60) == 0, (tmp_path / f"{w}.log").read_text()
        assert procs["observer"].wait(30) == 0, (tmp_path / "observer.log").read_text()

        # The one result: exact, written by the new leader under its own token.
        assert {w: int(n) for w, n in c.hgetall("mr:result").items()} == dict(expected)
        new_token, writer = c.get("mr:result:by").split()
        assert writer != first and int(new_token) > token
        assert c.hlen("mr:parts") == TASKS and c.get("mr:split") == str(TASKS)

        # The observer saw the job go on, the leader change, and one result.
        lines = observer_out.read_text().splitlines()
        elect = [line.split()[1:] for line in lines if line.startswith("__elect__:mr:leader ")]
        assert ["leader", str(token), first] in elect
        assert ["expired", str(token), first] in elect
        assert ["leader", new_token, writer] in elect
        assert elect.index(["leader", str(token), first]) < elect.index(["leader", new_token, writer])
        assert f"mr:progress split {TASKS}" in lines
        mapped = [line for line in lines if line.startswith("mr:progress mapped ")]
        assert mapped and all(re.fullmatch(r"mr:progress mapped \d+ \d+/40 by w\d", m) for m in mapped)
        assert [line for line in lines if line.startswith("mr:progress done")] == [
            f"mr:progress done {new_token} by {writer}"]
        assert f"readonly result by {new_token} {writer}" in lines
        assert lines[-1] == f"readonly result words {len(expected)} total {sum(expected.values())}"
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)
        obs.kill()
