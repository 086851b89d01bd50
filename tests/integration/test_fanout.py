"""The fan-out example (examples/fanout.c, hiredis) on a three-node cluster:
one publisher, three subscribers on different nodes, one of them stalled
until the publisher is done. With pub/sub the stalled one falls behind by
more than client-output-buffer-limit pubsub and is disconnected, having
seen a gap-free prefix; the others get every message, in order. With a
stream and one consumer group per subscriber nobody loses anything: the
stalled one reads every message too, later."""
import subprocess

import pytest

from conftest import wait_until



@pytest.fixture(scope="module")
def fanout(examples):
    return examples("fanout")


def run_fanout(fanout, cl, tmp_path, mode, messages):
    """Starts fast-1, fast-2 and slow (each on its own node; slow reads
    nothing until the publisher is done), waits until they are subscribed,
    publishes; returns each one's last output line."""
    procs = {}
    subscribers = [("fast-1", []), ("fast-2", []), ("slow", ["--pause", "--slow-ms", "1"])]
    cl.leader().client().delete("fan:published")
    try:
        for i, (name, extra) in enumerate(subscribers):
            with open(tmp_path / f"{mode}-{name}.out", "wb") as out, \
                    open(tmp_path / f"{mode}-{name}.log", "ab") as log:
                procs[name] = subprocess.Popen(
                    [fanout, "-h", f"127.0.0.1:{cl.nodes[i].port}", "--mode", mode, "--name", name,
                     *extra, "subscribe"], stdout=out, stderr=log)
        for name, _ in subscribers:
            wait_until(lambda: "subscribed" in (tmp_path / f"{mode}-{name}.out").read_text(), 20,
                       message=f"{name} to subscribe")
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in cl.nodes)
        pub = subprocess.run([fanout, "-h", hosts, "--mode", mode, "--messages", str(messages),
                              "--size", "4096", "--subscribers", "3", "publish"],
                             capture_output=True, text=True, timeout=60)
        assert (pub.returncode, pub.stdout) == (0, f"published {messages}\n"), pub.stderr
        last = {}
        for name, _ in subscribers:
            log = (tmp_path / f"{mode}-{name}.log").read_text
            assert procs[name].wait(60) == 0, log()
            last[name] = (tmp_path / f"{mode}-{name}.out").read_text().splitlines()[-1]
        return last
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.kill()
                p.wait(10)


def test_a_slow_pubsub_subscriber_is_cut_off_a_stream_one_loses_nothing(fanout, make_cluster, tmp_path):
    cl = make_cluster().start()
    c = cl.leader().client()
    # A node's own setting: on the slow subscriber's node only, so the fast
    # ones (on the other two) keep the default 32 MB.
    assert cl.nodes[2].client().config_set("client-output-buffer-limit", "pubsub 256kb 0 0")

    # Pub/sub: more 4 KB messages than the kernel's socket buffers can hold
    # (the server's send buffer at its largest, the stalled client's receive
    # buffer before it grows) plus the limit, so the rest must wait in the
    # server's output buffer.
    wmem_max = int(open("/proc/sys/net/ipv4/tcp_wmem").read().split()[2])
    rmem_default = int(open("/proc/sys/net/ipv4/tcp_rmem").read().split()[1])
    messages = max(2000, 2 * (wmem_max + 2 * rmem_default + 262144) // 4096)
    last = run_fanout(fanout, cl, tmp_path, "pubsub", messages)
    assert last["fast-1"] == last["fast-2"] == f"received {messages} complete"
    words = last["slow"].split()
    assert words[0] == "received" and words[2] == "disconnected", last["slow"]
    assert int(words[1]) < messages  # a gap-free prefix, checked by the subscriber
    assert "closed for overcoming of output buffer limits" in cl.nodes[2].log_text()
    wait_until(lambda: c.execute_command("PUBSUB", "NUMSUB", "fan:channel") == ["fan:channel", 0], 10,
               message="the slow subscriber's subscription to go")

    # A stream with a consumer group per subscriber: all of it, stalled or not.
    last = run_fanout(fanout, cl, tmp_path, "stream", 500)
    assert last == {name: "received 500 complete" for name in ("fast-1", "fast-2", "slow")}
    groups = c.xinfo_groups("fan:stream")
    assert sorted(g["name"] for g in groups) == ["sub:fast-1", "sub:fast-2", "sub:slow"]
    assert all(g["pending"] == 0 for g in groups)
