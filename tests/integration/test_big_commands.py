"""Commands with over a million arguments, and batches larger than one bulk
string: Redis 7.0 accepts a multibulk of up to INT_MAX arguments from an
authenticated client, so `DEL` with 1,100,000 keys must delete them. Each
such command is encoded into the Raft log and applied like any other, on a
single node and through a follower, which forwards its batches to the
leader in parts no larger than the smallest proto-max-bulk-len. Commands of
other clients (and of the same client) around the big one are answered as
usual: nothing is lost with it."""

import os

import pytest

from conftest import Repeat, resp_encode, wait_writable
from rawresp import RawConn
from testhooks import needs_test_hooks

N = 1_100_000


def names(prefix, n):
    return [f"{prefix}{i}" for i in range(n)]


class Incrementer(Repeat):
    """Another client INCRs a counter, every few milliseconds, while the big
    commands run: its commands share ticks (and entries) with theirs."""

    def __init__(self, node):
        self.client = node.client(socket_timeout=30)
        # Paced: the big commands' client needs the GIL.
        super().__init__(lambda: self.client.incr("other:counter"), "an INCR", pause_s=0.002)

    def __exit__(self, *exc):
        super().__exit__(*exc)
        assert self.calls > 0
        assert int(self.client.get("other:counter")) == self.calls
        self.client.close()


def check_big_commands(node):
    """DEL, MSET and EXISTS with 1,100,000 arguments each (MSET sets 1000
    keys 550 times over: the argument count is what is tested)."""
    r = node.client(socket_timeout=60)
    keys = names("big:", N)
    with Incrementer(node):
        r.mset({k: "1" for k in keys[:1000]})
        assert r.execute_command("DEL", *keys) == 1000
        args = []
        for i in range(N // 2):
            args += [keys[i % 1000], str(i)]
        assert r.execute_command("MSET", *args) is True
        assert r.execute_command("EXISTS", *keys) == 1000
        assert r.get(keys[0]) == str(N // 2 - 1000) and r.get(keys[999]) == str(N // 2 - 1)
    r.close()


def test_million_argument_commands_on_a_single_node(server, r):
    check_big_commands(server)


def test_commands_around_a_big_one_in_the_same_write_are_answered(server, r):
    keys = names("p:", N)
    payload = b"".join([resp_encode("SET", "before", "1"), resp_encode("DEL", *keys),
                        resp_encode("SET", "after", "2"), resp_encode("GET", "after"),
                        resp_encode("EXISTS", *keys)])
    with RawConn(server.port, timeout=60) as c:
        c.send(payload)
        assert [c.read() for _ in range(5)] == ["OK", 0, "OK", b"2", 0]
    assert r.get("before") == "1"


@pytest.fixture(scope="module")
def small_bulk_cluster(tmp_path_factory):
    """Three nodes whose proto-max-bulk-len is Redis's least (1 MB): a
    forwarded batch holding a 1 MB value is more than 1 MB."""
    from conftest import Cluster
    c = Cluster(str(tmp_path_factory.mktemp("bigcmd")),
                extra=["--proto-max-bulk-len", "1mb"]).start()
    yield c
    c.stop()


def test_million_argument_commands_through_a_follower(small_bulk_cluster):
    follower = small_bulk_cluster.followers()[0]
    wait_writable(follower)
    check_big_commands(follower)
    small_bulk_cluster.wait_converged()


def test_forwarded_batches_larger_than_proto_max_bulk_len(small_bulk_cluster):
    cluster = small_bulk_cluster
    follower = cluster.followers()[0]
    r = follower.client(socket_timeout=30)
    value = "x" * (1024 * 1024)  # the largest bulk string these nodes accept
    assert r.set("big:one", value) is True
    assert r.mset({"big:a": value, "big:b": value[:-1] + "y"}) is True
    leader = cluster.leader().client(socket_timeout=30)
    assert leader.strlen("big:one") == len(value)
    assert leader.get("big:b") == value[:-1] + "y"
    cluster.wait_converged()


def test_raft_max_entry_bytes_is_at_most_what_a_batch_carries(make_node):
    """A batch is up to raft-max-entry-bytes (or one command), and one batch
    of a log entry carries at most 4294967220 bytes (a 32-bit length, in an
    entry of at most 4 GB): a follower set higher could build batches its
    leader refuses as a whole ("ERR malformed forwarded batch"), and a
    leader would stop on them. The directive says so at start-up."""
    node = make_node(extra=["--raft-max-entry-bytes", "5gb"]).start(wait=False)
    assert node.proc.wait(timeout=30) != 0
    assert ("'raft-max-entry-bytes 5gb'\nargument must be between 4096 and 4294967220 inclusive"
            in node.log_text()), node.log_tail()
    top = make_node(node_id=2, extra=["--raft-max-entry-bytes", "4294967220"]).start()
    assert top.client().config_get("raft-max-entry-bytes") == {
        "raft-max-entry-bytes": "4294967220"}


@needs_test_hooks
def test_string_limits_in_apply_are_the_leaders_on_every_node(make_cluster):
    """A replica on a smaller machine decides what the leader decided: a
    string the leader let grow to 80 MB grows on every node. Apply used to
    clamp the entry's limit (proto-max-bulk-len, at most the leader's
    memory) to its own machine's memory as well, so a node with 64 MB
    refused a SETRANGE the others applied, and its data differed for good."""
    c = make_cluster()
    small = c.nodes[2]
    small.env = dict(os.environ, PARLEY_TEST_PHYSICAL_BYTES=str(64 << 20))
    c.start()
    if c.leader() is small:
        small.client().execute_command("RAFT", "TRANSFER")
        c.wait_leader(exclude=(small,))
    leader = c.leader()
    assert leader is not small
    r = leader.client(socket_timeout=60)
    assert r.setrange("big", 80 << 20, "x") == (80 << 20) + 1
    # Equal digests on every node: the small one holds the 80 MB string too.
    c.wait_converged(timeout=60)
    c.stop()
