"""The first promise: a single durable node answers, and a write survives a
restart because it was in the Raft log before it was acknowledged."""
import os
import signal

from conftest import Node, wait_until, wait_writable


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


def test_shutdown_command_exits_cleanly_and_keeps_data(make_node):
    node = make_node().start()
    wait_writable(node)
    c = node.client()
    c.set("before-shutdown", "kept")
    try:
        c.shutdown()
    except Exception:
        pass  # redis-py raises when the server closes the connection, as with Redis
    assert node.proc.wait(15) == 0
    node.start()
    wait_writable(node)
    assert node.client().get("before-shutdown") == "kept"


def test_sighup_reopens_the_log_file_after_it_was_moved(make_node, tmp_path):
    """As logrotate does: move the file, SIGHUP, the node logs into a new
    file at the configured path and goes on serving."""
    path = str(tmp_path / "parley.log")
    node = make_node(extra=["--logfile", path]).start()
    wait_writable(node)
    os.rename(path, path + ".1")
    node.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: os.path.exists(path) and "Log file reopened" in open(path).read(), 10,
               message="the log file to be reopened")
    assert "Received SIGHUP" in open(path + ".1").read()
    assert node.client().set("after-hup", "1") and node.alive()
