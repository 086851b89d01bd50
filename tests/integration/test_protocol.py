"""The wire protocol and the connection limits: pipelining, inline commands,
commands split into many writes, binary-safe arguments, malformed input
(Redis's exact error, then the connection closes), oversized requests,
clients that vanish mid-command or send garbage next to a well-behaved one,
client-query-buffer-limit, maxclients and client-output-buffer-limit.

Expected replies and error texts were taken from redis-server 7.0.15 given
the same bytes."""
import random
import socket
import threading
import time

import pytest

from conftest import memory_measured, resp_encode, wait_until, wait_writable
from rawresp import Closed, RawConn


def proc_status(node, field):
    """A /proc/<pid>/status value in kB (VmPeak, VmHWM...)."""
    with open(f"/proc/{node.proc.pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc status")


def client_ids(r):
    return {int(c["id"]) for c in r.client_list()}


@pytest.fixture
def fresh(make_node):
    """A node of its own, for tests that change limits or count clients."""
    node = make_node().start()
    wait_writable(node)
    return node


# ---------------------------------------------------------------- pipelining

def test_pipeline_1000_commands_in_one_write(server, r):
    payload, expected = [], []
    for i in range(250):
        payload += [resp_encode("SET", f"p:{i}", f"v{i}"), resp_encode("GET", f"p:{i}"),
                    resp_encode("INCR", "p:counter"), resp_encode("ECHO", str(i))]
        expected += ["OK", f"v{i}".encode(), i + 1, str(i).encode()]
    data = b"".join(payload)
    with RawConn(server.port) as c:
        c.send(data)  # one sendall: the server sees it in as few reads as TCP allows
        got = [c.read() for _ in range(1000)]
        assert got == expected
        assert c.call("PING") == "PONG"
    assert r.get("p:counter") == "250"


def test_pipeline_of_reads_after_a_write_keeps_order(server, r):
    r.set("ord", "0")
    with RawConn(server.port) as c:
        cmds = []
        for i in range(1, 200):
            cmds.append(resp_encode("SET", "ord", str(i)))
            cmds.append(resp_encode("GET", "ord"))
        c.send(b"".join(cmds))
        for i in range(1, 200):
            assert c.read() == "OK"
            assert c.read() == str(i).encode()


# ---------------------------------------------------------------- inline commands

def test_inline_commands_as_nc_sends_them(server, r):
    with RawConn(server.port) as c:
        c.send(b"PING\r\n")
        assert c.read_raw() == b"+PONG\r\n"
        c.send(b'SET inl "a b"\r\n')
        assert c.read_raw() == b"+OK\r\n"
        c.send(b"GET inl\r\n")
        assert c.read_raw() == b"$3\r\na b\r\n"
        # LF alone ends a line too, and blank lines are ignored.
        c.send(b"\r\n\n  \r\nPING\n")
        assert c.read_raw() == b"+PONG\r\n"
        c.send(b"SET  inl2   'x \"y\" z'  \r\nGET inl2\r\n")
        assert c.read() == "OK" and c.read() == b'x "y" z'
        c.send(b'SET inl3 "\\x41\\x00\\n\\t\\\\ \\"q\\""\r\nGET inl3\r\n')
        assert c.read() == "OK" and c.read() == b'A\x00\n\t\\ "q"'
        c.send(b"set inl4 'it\\'s'\r\nstrlen inl4\r\n")
        assert c.read() == "OK" and c.read() == 4
        # Inline and multibulk mixed in one write.
        c.send(b"ECHO one\r\n" + resp_encode("ECHO", "two") + b"ECHO three\r\n")
        assert [c.read(), c.read(), c.read()] == [b"one", b"two", b"three"]
        c.send(b"NOSUCH a b\r\n")
        assert c.read() == "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' "
    assert r.get("inl") == "a b"


def test_empty_multibulk_is_ignored(server):
    with RawConn(server.port) as c:
        c.send(b"*0\r\n*-1\r\n" + resp_encode("PING"))
        assert c.read_raw() == b"+PONG\r\n"


# ---------------------------------------------------------------- split writes

def test_command_split_across_many_small_writes(server, r):
    value = bytes(random.Random(7).randrange(256) for _ in range(3000))
    payload = resp_encode("SET", "split", value) + resp_encode("GET", "split") + b'ECHO "in line"\r\n'
    rnd = random.Random(1)
    with RawConn(server.port) as c:
        pos = 0
        while pos < len(payload):
            n = rnd.choice([1, 1, 2, 3, 5, 17, 100])
            c.send(payload[pos:pos + n])
            pos += n
        assert c.read() == "OK"
        assert c.read() == value
        assert c.read() == b"in line"
    # Byte by byte, with the header digits split too.
    with RawConn(server.port) as c:
        for b in resp_encode("ECHO", "x" * 12345):
            c.send(bytes([b]))
        assert c.read() == b"x" * 12345


# ---------------------------------------------------------------- binary safety

def test_binary_safe_keys_and_values(server):
    c = server.client(decode_responses=False)
    everything = bytes(range(256))
    keys = [b"\x00", b"k\r\nk", b"\xff\xfe", b" ", b"*1\r\n$4\r\nPING\r\n", everything]
    for i, k in enumerate(keys):
        assert c.set(k, everything * (i + 1))
    for i, k in enumerate(keys):
        assert c.get(k) == everything * (i + 1)
        assert c.strlen(k) == 256 * (i + 1)
    with RawConn(server.port) as raw:
        assert raw.call("GET", b"k\r\nk") == everything * 2
        assert raw.call("ECHO", b"\r\n\x00") == b"\r\n\x00"
        assert raw.last_raw == b"$3\r\n\r\n\x00\r\n"


# ---------------------------------------------------------------- malformed input

MALFORMED = [
    (b"*abc\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*3000000000\r\n", "ERR Protocol error: invalid multibulk length"),
    (b"*1\r\nx3\r\nGET\r\n", "ERR Protocol error: expected '$', got 'x'"),
    (b"*2\r\n$3\r\nGET\r\n:1\r\n", "ERR Protocol error: expected '$', got ':'"),
    (b"*1\r\n$abc\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$-1\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$2147483648\r\n", "ERR Protocol error: invalid bulk length"),
    (b"*1\r\n$536870913\r\n", "ERR Protocol error: invalid bulk length"),
    (b'SET k "a b\r\n', "ERR Protocol error: unbalanced quotes in request"),
    (b'SET k "a b"x\r\n', "ERR Protocol error: unbalanced quotes in request"),
    (b"SET k 'a\r\n", "ERR Protocol error: unbalanced quotes in request"),
    (b"x" * 70000, "ERR Protocol error: too big inline request"),
    (b"*1\r\n$" + b"1" * 70000, "ERR Protocol error: too big bulk count string"),
    (b"*" + b"1" * 70000, "ERR Protocol error: too big mbulk count string"),
]


@pytest.mark.parametrize("payload,error", MALFORMED, ids=[e for _, e in MALFORMED])
def test_malformed_input_gets_redis_error_and_close(server, r, payload, error):
    with RawConn(server.port) as c:
        try:
            c.send(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert c.read_until_closed() == b"-" + error.encode() + b"\r\n"
    assert r.ping()


def test_protocol_error_comes_after_earlier_replies(server, r):
    # The commands before the bad bytes run, and their replies come first.
    with RawConn(server.port) as c:
        c.send(resp_encode("SET", "before", "1") + resp_encode("GET", "before")
               + resp_encode("INCR", "before") + b"*1\r\nx3\r\n" + resp_encode("SET", "after", "1"))
        assert c.read_until_closed() == \
            b"+OK\r\n$1\r\n1\r\n:2\r\n-ERR Protocol error: expected '$', got 'x'\r\n"
    with RawConn(server.port) as c:
        c.send(resp_encode("SET", "before2", "1") + b'ECHO "unbalanced\r\n')
        assert c.read_until_closed() == \
            b"+OK\r\n-ERR Protocol error: unbalanced quotes in request\r\n"
    assert r.get("before") == "2" and r.get("before2") == "1"
    assert r.exists("after") == 0


def test_declared_2gb_bulk_is_refused_without_allocating(fresh):
    r = fresh.client()
    peak_before = proc_status(fresh, "VmPeak")
    for header in [b"*1\r\n$2147483648\r\n", b"*2\r\n$3\r\nSET\r\n$2147483648\r\n",
                   b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$2147483648\r\n"]:
        with RawConn(fresh.port) as c:
            c.send(header + b"x" * 1000)
            assert c.read_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"
    # The limit is proto-max-bulk-len, which CONFIG SET moves.
    assert r.config_set("proto-max-bulk-len", "1mb")
    with RawConn(fresh.port) as c:
        c.send(b"*2\r\n$4\r\nECHO\r\n$1048577\r\n")
        assert c.read_until_closed() == b"-ERR Protocol error: invalid bulk length\r\n"
    with RawConn(fresh.port) as c:
        assert c.call("ECHO", b"y" * 1048576) == b"y" * 1048576
    # Nothing near 2 GB was ever mapped.
    if memory_measured(fresh):
        assert proc_status(fresh, "VmPeak") - peak_before < 256 * 1024
    assert r.ping() and r.dbsize() <= 1


# ---------------------------------------------------------------- vanishing and hostile clients

def test_client_disconnecting_mid_command_applies_nothing(server, r):
    partials = [
        b"*3\r\n$3\r\nSET\r\n$4\r\npart\r\n$5\r\nab",  # inside the last bulk
        b"*3\r\n$3\r\nSET\r\n$4\r\npart\r\n",          # before the last bulk header
        b"*3\r\n$3\r\nSET\r\n$4\r\npart\r\n$5\r\nabcde",  # payload but no CRLF
        b"SET part value",                             # inline without newline
    ]
    for payload in partials:
        c = RawConn(server.port)
        cid = c.call("CLIENT", "ID")
        c.send(payload)
        c.close()
        wait_until(lambda: cid not in client_ids(r), message="the half-sent client to be gone")
    # Anything the server would still apply from those clients would have
    # been applied by now: it has closed them all.
    assert r.set("after-partials", "1")
    assert r.exists("part") == 0
    assert r.ping()


BAD_PAYLOADS = [p for p, _ in MALFORMED] + [
    b"*2\r\n$3\r\nSET\r\n$1",  # then close
    bytes(range(256)) * 4,
    b"\x00\x01\x02\r\n\r\n*-5\r\n$\r\n",
    b"*1\r\n$100\r\n" + b"z" * 50,  # then close
    b"GET\r\n" * 50 + b"*x\r\n",
]


def test_garbage_does_not_disturb_a_good_client(server, r):
    errors, done = [], threading.Event()
    rounds = [0]

    def good():
        c = server.client(socket_timeout=10)
        try:
            i = 0
            while not done.is_set():
                i += 1
                assert c.set(f"good:{i % 50}", f"value-{i}")
                assert c.get(f"good:{i % 50}") == f"value-{i}"
                assert c.incr("good:count") == i
                with c.pipeline(transaction=False) as p:
                    p.echo(f"e{i}").set("good:last", i).get("good:last")
                    assert p.execute() == [f"e{i}", True, str(i)]
                rounds[0] = i
        except Exception as e:  # reported below
            errors.append(e)

    baseline = len(r.client_list())
    t = threading.Thread(target=good)
    t.start()
    try:
        wait_until(lambda: rounds[0] >= 5 or errors, message="the good client to get going")
        rnd = random.Random(3)
        for _ in range(3):
            for payload in BAD_PAYLOADS + [bytes(rnd.randrange(256) for _ in range(2000))]:
                s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
                try:
                    s.sendall(payload)
                except OSError:
                    pass
                s.close()
        # Every bad connection has been dealt with (the good one remains)...
        wait_until(lambda: len(r.client_list()) <= baseline + 1,
                   message="the bad connections to be closed")
        # ...and the good client still gets its answers.
        start = rounds[0]
        wait_until(lambda: rounds[0] >= start + 5 or errors, message="the good client to go on")
    finally:
        done.set()
        t.join(30)
    assert not t.is_alive()
    assert errors == []
    assert r.get("good:count") == str(rounds[0])


# ---------------------------------------------------------------- limits

def test_client_query_buffer_limit(fresh):
    r = fresh.client()
    assert r.config_set("client-query-buffer-limit", "1mb")
    other = RawConn(fresh.port)
    with RawConn(fresh.port) as c:
        try:
            c.send(b"*3\r\n$3\r\nSET\r\n$1\r\nq\r\n$3000000\r\n")
            c.send(b"x" * 2000000)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # Closed without a reply, as Redis does.
        assert c.read_until_closed() == b""
    assert other.call("PING") == "PONG"
    assert r.exists("q") == 0
    # Many small commands in one write are not one big query.
    cmds = b"".join(resp_encode("SET", f"small:{i % 100}", "v" * 200) for i in range(10000))
    assert len(cmds) > 1500000
    with RawConn(fresh.port) as c:
        c.send(cmds)
        assert [c.read() for _ in range(10000)] == ["OK"] * 10000
    other.close()


def test_maxclients(fresh):
    r = fresh.client()
    # Only this connection: the fixture's own clients are dismissed.
    r.client_kill_filter(_type="normal", skipme=True)
    wait_until(lambda: r.info("clients")["connected_clients"] == 1,
               message="other clients to be gone")
    assert r.info("stats")["rejected_connections"] == 0
    assert r.config_set("maxclients", 4)
    conns = [RawConn(fresh.port) for _ in range(3)]
    try:
        for c in conns:
            assert c.call("PING") == "PONG"
        with RawConn(fresh.port) as extra:
            assert extra.read_until_closed() == b"-ERR max number of clients reached\r\n"
        stats = r.info("stats")
        assert stats["rejected_connections"] == 1
        assert r.info("clients")["connected_clients"] == 4
        conns.pop().close()
        wait_until(lambda: r.info("clients")["connected_clients"] == 3,
                   message="a closed client to free its place")
        conns.append(RawConn(fresh.port))
        assert conns[-1].call("PING") == "PONG"
        # Raising the limit lets more in at once.
        assert r.config_set("maxclients", 10)
        conns.append(RawConn(fresh.port))
        assert conns[-1].call("PING") == "PONG"
    finally:
        for c in conns:
            c.close()


def pipeline_without_reading(port, payload):
    """A client that sends a pipeline and never reads; returns its id."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(resp_encode("CLIENT", "ID"))
    data = b""
    while not data.endswith(b"\r\n"):
        data += s.recv(100)
    try:
        s.sendall(payload)
    except (BrokenPipeError, ConnectionResetError):
        pass
    return s, int(data[1:-2])


def test_output_buffer_hard_limit_disconnects_a_client_that_does_not_read(fresh):
    r = fresh.client()
    big = "b" * 100000
    r.set("big", big)
    assert r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    hwm_before = proc_status(fresh, "VmHWM")
    # 5000 replies of 100 KB (500 MB) against a 1 MB limit.
    s, bad_id = pipeline_without_reading(fresh.port, resp_encode("GET", "big") * 5000)
    try:
        wait_until(lambda: bad_id not in client_ids(r), message="the non-reading client to be closed")
        # Disconnected as soon as it went over: the server did not build
        # hundreds of megabytes of replies first.
        if memory_measured(fresh):
            assert proc_status(fresh, "VmHWM") - hwm_before < 100 * 1024
        with RawConn(fresh.port) as good:
            assert good.call("GET", "big") == big.encode()
            assert good.call("PING") == "PONG"
        assert r.get("big") == big
    finally:
        s.close()


def test_reads_behind_a_pending_write_respect_the_output_hard_limit(fresh):
    """Reads that follow a client's own pending write travel through the
    log with it, and their replies are built when the entry is applied. They
    are still held to the output hard limit: the client is closed instead of
    the server building hundreds of megabytes of replies."""
    r = fresh.client()
    big = "b" * 100000
    r.set("big", big)
    assert r.config_set("client-output-buffer-limit", "normal 1mb 0 0")
    hwm_before = proc_status(fresh, "VmHWM")
    s, bad_id = pipeline_without_reading(
        fresh.port, resp_encode("SET", "x", "1") + resp_encode("GET", "big") * 3000)
    try:
        wait_until(lambda: bad_id not in client_ids(r), message="the non-reading client to be closed")
        if memory_measured(fresh):
            assert proc_status(fresh, "VmHWM") - hwm_before < 100 * 1024
        assert r.get("x") == "1"        # the write itself was applied
        assert r.get("big") == big
    finally:
        s.close()


def test_a_client_that_does_not_read_is_paused_not_buffered(fresh):
    """Without a hard limit, a client that reads nothing is no longer served
    once client-reply-pause-bytes of its replies wait, and is served again
    as it reads: memory stays bounded and every reply arrives, in order."""
    r = fresh.client()
    value = b"v" * 50000
    r.set("v50k", value)
    assert r.config_set("client-reply-pause-bytes", "4mb")
    hwm_before = proc_status(fresh, "VmHWM")
    n = 3000  # 150 MB of replies
    s, cid = pipeline_without_reading(fresh.port, resp_encode("GET", "v50k") * n)
    try:
        def paused():
            # Stopped with replies unsent and part of the pipeline unparsed.
            me = [c for c in r.client_list() if c["id"] == str(cid)][0]
            return int(me["omem"]) > 0 and int(me["qbuf"]) > 0
        wait_until(paused, message="the server to pause the client that does not read")
        if memory_measured(fresh):
            assert proc_status(fresh, "VmHWM") - hwm_before < 64 * 1024
        assert r.ping()
        one = b"$50000\r\n" + value + b"\r\n"
        expected_len = len(one) * n
        s.settimeout(20)
        got, tail = 0, b""
        while got < expected_len:
            chunk = s.recv(1 << 20)
            assert chunk, f"closed after {got} of {expected_len} bytes"
            got += len(chunk)
            tail = (tail + chunk)[-len(one):]
        assert got == expected_len and tail == one
        if memory_measured(fresh):
            assert proc_status(fresh, "VmHWM") - hwm_before < 64 * 1024
    finally:
        s.close()


def test_throttled_client_resumes_promptly(fresh):
    """A small pause threshold and a client that does read: the server
    pauses and resumes it many times, and each resume is immediate (not
    left for some later event to wake the server)."""
    r = fresh.client()
    value = b"w" * 10000
    r.set("w10k", value)
    assert r.config_set("client-reply-pause-bytes", "100kb")
    n = 3000
    with RawConn(fresh.port) as c:
        start = time.monotonic()
        c.send(resp_encode("GET", "w10k") * n)
        for _ in range(n):
            assert c.read() == value
        elapsed = time.monotonic() - start
    # About 300 pauses; a resume that waited for the 100 ms server cron
    # instead would take half a minute.
    assert elapsed < 5, elapsed
