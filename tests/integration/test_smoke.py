"""The first promise: a single durable node answers, and a write survives a
restart because it was in the Raft log before it was acknowledged."""
from conftest import Node, wait_writable


def test_ping_set_get(r):
    assert r.ping()
    assert r.set("k", "v")
    assert r.get("k") == "v"


def test_acknowledged_write_survives_clean_restart(make_node):
    node = make_node().start()
    wait_writable(node)
    c = node.client()
    for i in range(100):
        assert c.set(f"key:{i}", f"value:{i}")
    assert node.stop() == 0
    node.start()
    c = node.client()
    wait_writable(node)
    assert c.mget([f"key:{i}" for i in range(100)]) == [f"value:{i}" for i in range(100)]
