"""Connection and server commands: PING, ECHO, SELECT, HELLO, RESET, QUIT,
CLIENT, COMMAND, INFO, CONFIG, TIME, RAFT INFO, and RESP3 reply types.

Every expected reply and error text below was taken from redis-server
7.0.15 given the same input (CLIENT SETINFO from Redis 7.2, which added it),
except where a comment says Parley differs on purpose."""
import re
import time

import pytest
import redis

from conftest import parse_info, raw_command, resp_encode, wait_until
from rawresp import Err, RawConn, Simple, Verbatim

ARITY = "ERR wrong number of arguments for '%s' command"


@pytest.fixture
def raw(server, r):  # r: flushed keyspace
    c = RawConn(server.port)
    yield c
    c.close()


def info_text(server, *sections):
    """INFO's text as sent (redis-py would parse it into a dict)."""
    with RawConn(server.port) as c:
        return c.call("INFO", *sections).decode()


def client_list(conn):
    """CLIENT LIST as a list of dicts."""
    text = conn.call("CLIENT", "LIST")
    return [dict(f.split("=", 1) for f in line.split(" "))
            for line in text.decode().splitlines() if line]


# ---------------------------------------------------------------- PING, ECHO

def test_ping(raw):
    assert raw.call("PING") == "PONG" and raw.last_raw == b"+PONG\r\n"
    assert raw.call("ping", "hello world") == b"hello world"
    assert raw.last_raw == b"$11\r\nhello world\r\n"
    assert raw.call("PING", "a", "b") == ARITY % "ping"


def test_echo(raw):
    assert raw.call("ECHO", "x") == b"x"
    assert raw.call("ECHO", b"\x00\r\n\xff") == b"\x00\r\n\xff"
    assert raw.call("ECHO", "") == b"" and raw.last_raw == b"$0\r\n\r\n"
    assert raw.call("ECHO") == ARITY % "echo"
    assert raw.call("ECHO", "a", "b") == ARITY % "echo"


def test_unknown_command(raw):
    assert raw.call("NOSUCH", "a", "b") == \
        "ERR unknown command 'NOSUCH', with args beginning with: 'a' 'b' "
    assert raw.call("nosuch") == "ERR unknown command 'nosuch', with args beginning with: "


# ---------------------------------------------------------------- SELECT

def test_select_every_db_is_separate(raw):
    for db in range(16):
        assert raw.call("SELECT", db) == "OK"
        assert raw.call("SET", "k", f"v{db}") == "OK"
    for db in range(16):
        assert raw.call("SELECT", str(db)) == "OK"
        assert raw.call("GET", "k") == f"v{db}".encode()
        assert raw.call("DBSIZE") == 1
    me = [c for c in client_list(raw) if c["id"] == str(raw.call("CLIENT", "ID"))]
    assert me[0]["db"] == "15"


@pytest.mark.parametrize("arg,error", [
    ("16", "ERR DB index is out of range"),
    ("-1", "ERR DB index is out of range"),
    ("2147483647", "ERR DB index is out of range"),
    ("abc", "ERR value is not an integer or out of range"),
    ("1.5", "ERR value is not an integer or out of range"),
    (" 1", "ERR value is not an integer or out of range"),
    ("", "ERR value is not an integer or out of range"),
    ("9223372036854775808", "ERR value is not an integer or out of range"),
    ("2147483648", "ERR value is out of range, value must between -2147483648 and 2147483647"),
    ("-2147483649", "ERR value is out of range, value must between -2147483648 and 2147483647"),
    ("99999999999999", "ERR value is out of range, value must between -2147483648 and 2147483647"),
])
def test_select_errors(raw, arg, error):
    assert raw.call("SELECT", "3") == "OK"
    assert raw.call("SELECT", arg) == error
    assert raw.call("CLIENT", "INFO").decode().split(" db=")[1].startswith("3 ")


def test_select_arity(raw):
    assert raw.call("SELECT") == ARITY % "select"
    assert raw.call("SELECT", "1", "2") == ARITY % "select"


# ---------------------------------------------------------------- HELLO

HELLO_KEYS = [b"server", b"version", b"proto", b"id", b"mode", b"role", b"modules"]


def test_hello_2_and_3(raw):
    my_id = raw.call("CLIENT", "ID")
    reply = raw.call("HELLO", "2")
    # RESP2: a flat array of 14 elements.
    assert raw.last_raw.startswith(b"*14\r\n$6\r\nserver\r\n$5\r\nredis\r\n")
    m = dict(zip(reply[::2], reply[1::2]))
    assert list(m) == HELLO_KEYS
    assert m[b"server"] == b"redis" and m[b"version"] == b"7.0.15"
    assert m[b"proto"] == 2 and m[b"id"] == my_id
    assert m[b"mode"] == b"standalone" and m[b"role"] == b"master" and m[b"modules"] == []

    m = raw.call("HELLO", "3")
    assert raw.last_raw.startswith(b"%7\r\n$6\r\nserver\r\n")
    assert list(m) == HELLO_KEYS
    assert m[b"proto"] == 3 and m[b"id"] == my_id and m[b"version"] == b"7.0.15"
    # No argument: the current protocol, unchanged.
    assert raw.call("HELLO")[b"proto"] == 3
    assert raw.call("HELLO", "2")[1::2][2] == 2
    assert raw.call("HELLO")[1::2][2] == 2


@pytest.mark.parametrize("args,error", [
    (["4"], "NOPROTO unsupported protocol version"),
    (["1"], "NOPROTO unsupported protocol version"),
    (["-1"], "NOPROTO unsupported protocol version"),
    (["4", "FOO"], "NOPROTO unsupported protocol version"),
    (["abc"], "ERR Protocol version is not an integer or out of range"),
    (["3.0"], "ERR Protocol version is not an integer or out of range"),
    (["99999999999999999999999"], "ERR Protocol version is not an integer or out of range"),
    (["SETNAME", "x"], "ERR Protocol version is not an integer or out of range"),
    (["3", "FOO"], "ERR Syntax error in HELLO option 'FOO'"),
    (["3", "SETNAME"], "ERR Syntax error in HELLO option 'SETNAME'"),
    (["3", "AUTH", "default"], "ERR Syntax error in HELLO option 'AUTH'"),
    (["3", "SETNAME", "a b"],
     "ERR Client names cannot contain spaces, newlines or special characters."),
    (["3", "SETNAME", "a b", "FOO"],
     "ERR Client names cannot contain spaces, newlines or special characters."),
    (["3", "SETNAME", "a b", "AUTH", "bob", "x"],
     "ERR Client names cannot contain spaces, newlines or special characters."),
    (["3", "AUTH", "bob", "x"], "WRONGPASS invalid username-password pair or user is disabled."),
    (["3", "AUTH", "DEFAULT", "x"], "WRONGPASS invalid username-password pair or user is disabled."),
    (["3", "AUTH", "bob", "x", "SETNAME", "a b"],
     "WRONGPASS invalid username-password pair or user is disabled."),
    (["3", "AUTH", "bob", "x", "FOO"],
     "WRONGPASS invalid username-password pair or user is disabled."),
])
def test_hello_errors_leave_connection_unchanged(raw, args, error):
    assert raw.call("HELLO", *args) == error
    assert raw.last_raw.startswith(b"-")
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.last_raw == b"$-1\r\n"  # still RESP2


def test_hello_setname_and_auth(raw):
    m = raw.call("HELLO", "3", "AUTH", "default", "any-password", "SETNAME", "conn-a")
    assert m[b"proto"] == 3
    assert raw.call("CLIENT", "GETNAME") == b"conn-a"
    assert raw.call("HELLO", "3", "SETNAME", "n1", "SETNAME", "n2")[b"proto"] == 3
    assert raw.call("CLIENT", "GETNAME") == b"n2"
    # An empty name clears it.
    raw.call("HELLO", "2", "SETNAME", "")
    assert raw.call("CLIENT", "GETNAME") is None


def test_hello_via_redis_py(server):
    c = server.client()
    assert c.execute_command("HELLO", "2", "SETNAME", "py")[1::2][:3] == ["redis", "7.0.15", 2]
    assert c.client_getname() == "py"


# ---------------------------------------------------------------- RESET, QUIT

def test_reset(raw):
    raw.call("CLIENT", "SETNAME", "before-reset")
    raw.call("SELECT", "7")
    raw.call("HELLO", "3")
    assert raw.call("RESET") == "RESET" and raw.last_raw == b"+RESET\r\n"
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.last_raw == b"$-1\r\n"  # back to RESP2
    info = raw.call("CLIENT", "INFO").decode()
    assert " db=0 " in info and " name= " in info and " resp=2" in info
    assert raw.call("RESET", "x") == ARITY % "reset"


def test_quit_replies_ok_then_closes(server):
    with RawConn(server.port) as c:
        c.send(resp_encode("SET", "quit:k", "1") + resp_encode("QUIT") + resp_encode("PING"))
        assert c.read_until_closed() == b"+OK\r\n+OK\r\n"
    with RawConn(server.port) as c:
        c.send(resp_encode("QUIT", "extra", "args"))
        assert c.read_until_closed() == b"+OK\r\n"
    with RawConn(server.port) as c:
        c.send(b"QUIT\r\n")
        assert c.read_until_closed() == b"+OK\r\n"


def test_quit_via_redis_py(server):
    c = server.client()
    cid = c.client_id()
    assert c.quit() is True  # redis-py's reading of +OK
    r2 = server.client()
    wait_until(lambda: str(cid) not in {x["id"] for x in r2.client_list()},
               message="the quitting client to be gone")


# ---------------------------------------------------------------- CLIENT

def test_client_id_is_unique_and_increasing(server, raw):
    first = raw.call("CLIENT", "ID")
    with RawConn(server.port) as other:
        second = other.call("CLIENT", "ID")
    assert isinstance(first, int) and second > first
    assert raw.call("CLIENT", "ID") == first
    assert raw.call("CLIENT", "ID", "x") == ARITY % "client|id"


def test_client_setname_getname(raw):
    assert raw.call("CLIENT", "GETNAME") is None and raw.last_raw == b"$-1\r\n"
    assert raw.call("CLIENT", "SETNAME", "worker-1") == "OK"
    assert raw.call("CLIENT", "GETNAME") == b"worker-1"
    assert raw.call("CLIENT", "SETNAME", "a~!{}") == "OK"
    for bad in ["a b", "a\nb", "tab\there", "\x7f", "caf\xe9"]:
        assert raw.call("CLIENT", "SETNAME", bad) == \
            "ERR Client names cannot contain spaces, newlines or special characters."
    assert raw.call("CLIENT", "GETNAME") == b"a~!{}"
    assert raw.call("CLIENT", "SETNAME", "") == "OK"
    assert raw.call("CLIENT", "GETNAME") is None
    assert raw.call("CLIENT", "SETNAME") == ARITY % "client|setname"
    assert raw.call("CLIENT", "GETNAME", "x") == ARITY % "client|getname"


def test_client_setinfo(raw):
    # Redis 7.2's CLIENT SETINFO; its texts are 7.2's.
    assert raw.call("CLIENT", "SETINFO", "lib-name", "redis-py") == "OK"
    assert raw.call("CLIENT", "SETINFO", "LIB-VER", "4.3.4") == "OK"
    info = raw.call("CLIENT", "INFO").decode()
    assert " lib-name=redis-py " in info and info.rstrip().endswith(" lib-ver=4.3.4")
    assert raw.call("CLIENT", "SETINFO", "lib-name", "x y") == \
        "ERR lib-name cannot contain spaces, newlines or special characters."
    assert raw.call("CLIENT", "SETINFO", "lib-ver", "1\n2") == \
        "ERR lib-ver cannot contain spaces, newlines or special characters."
    assert raw.call("CLIENT", "SETINFO", "foo", "1") == "ERR Unrecognized option 'foo'"
    assert raw.call("CLIENT", "SETINFO", "lib-name") == ARITY % "client|setinfo"
    assert " lib-name=redis-py " in raw.call("CLIENT", "INFO").decode()
    assert raw.call("CLIENT", "SETINFO", "lib-name", "") == "OK"
    assert " lib-name= " in raw.call("CLIENT", "INFO").decode()


def test_client_info_and_list(server, raw):
    my_id = raw.call("CLIENT", "ID")
    raw.call("CLIENT", "SETNAME", "lister")
    raw.call("SELECT", "4")
    raw.call("HELLO", "3")
    info = raw.call("CLIENT", "INFO")
    assert isinstance(info, Verbatim) and info.fmt == b"txt"
    assert raw.last_raw.startswith(b"=")
    line = info.decode()
    assert line.endswith("\n") and line.count("\n") == 1
    fields = dict(f.split("=", 1) for f in line.split())
    assert fields["id"] == str(my_id) and fields["name"] == "lister"
    assert fields["db"] == "4" and fields["resp"] == "3" and fields["cmd"] == "client|info"
    assert fields["laddr"] == f"127.0.0.1:{server.port}" and fields["flags"] == "N"
    assert re.fullmatch(r"127\.0\.0\.1:\d+", fields["addr"])
    assert fields["user"] == "default"

    with RawConn(server.port) as other:
        other_id = other.call("CLIENT", "ID")
        text = raw.call("CLIENT", "LIST").decode()
        ids = [int(re.match(r"id=(\d+) ", ln).group(1)) for ln in text.splitlines()]
        assert my_id in ids and other_id in ids
        mine = [ln for ln in text.splitlines() if ln.startswith(f"id={my_id} ")][0]
        assert " name=lister " in mine and " db=4 " in mine and " resp=3" in mine

        only = raw.call("CLIENT", "LIST", "ID", str(other_id), "999999999").decode()
        assert only.startswith(f"id={other_id} ") and only.count("\n") == 1
        both = raw.call("CLIENT", "LIST", "id", str(my_id), str(other_id)).decode()
        assert len(both.splitlines()) == 2
        normal = raw.call("CLIENT", "LIST", "TYPE", "normal").decode()
        assert f"id={my_id} " in normal and f"id={other_id} " in normal
        for t in ["master", "replica", "slave", "pubsub"]:
            assert raw.call("CLIENT", "LIST", "TYPE", t) == b""


@pytest.mark.parametrize("args,reply", [
    (["TYPE", "foo"], Err("ERR Unknown client type 'foo'")),
    (["ID", "abc"], Err("ERR Invalid client ID")),
    (["ID", "1", "x"], Err("ERR Invalid client ID")),
    (["ID", "0"], b""),
    (["ID", "-2"], b""),
    (["foo"], Err("ERR syntax error")),
    (["TYPE"], Err("ERR syntax error")),
    (["ID"], Err("ERR syntax error")),
])
def test_client_list_errors(raw, args, reply):
    got = raw.call("CLIENT", "LIST", *args)
    assert got == reply and type(got) is type(reply)


def test_client_kill_old_form(server, raw):
    with RawConn(server.port) as victim:
        victim_id = victim.call("CLIENT", "ID")
        addr = [c for c in client_list(raw) if c["id"] == str(victim_id)][0]["addr"]
        assert raw.call("CLIENT", "KILL", addr) == "OK"
        assert victim.read_until_closed() == b""
    assert raw.call("CLIENT", "KILL", addr) == "ERR No such client"
    assert raw.call("CLIENT", "KILL", "1.2.3.4:5") == "ERR No such client"
    assert str(victim_id) not in {c["id"] for c in client_list(raw)}


def test_client_kill_filters(server, raw):
    my_id = raw.call("CLIENT", "ID")
    victims = [RawConn(server.port) for _ in range(3)]
    try:
        ids = [v.call("CLIENT", "ID") for v in victims]
        addr1 = [c for c in client_list(raw) if c["id"] == str(ids[1])][0]["addr"]
        assert raw.call("CLIENT", "KILL", "ID", str(ids[0])) == 1
        assert victims[0].read_until_closed() == b""
        assert raw.call("CLIENT", "KILL", "ID", str(ids[0])) == 0
        assert raw.call("CLIENT", "KILL", "ADDR", addr1, "SKIPME", "yes") == 1
        assert victims[1].read_until_closed() == b""
        assert raw.call("CLIENT", "KILL", "LADDR", "1.2.3.4:5") == 0
        assert raw.call("CLIENT", "KILL", "USER", "default", "ID", str(ids[2])) == 1
        assert victims[2].read_until_closed() == b""
        # SKIPME yes (the default) spares the caller even when it matches.
        assert raw.call("CLIENT", "KILL", "ID", str(my_id)) == 0
        assert raw.call("PING") == "PONG"
    finally:
        for v in victims:
            v.close()


def test_client_kill_self_with_skipme_no(server):
    with RawConn(server.port) as c:
        my_id = c.call("CLIENT", "ID")
        c.send(resp_encode("CLIENT", "KILL", "ID", str(my_id), "SKIPME", "no") + resp_encode("PING"))
        assert c.read_until_closed() == b":1\r\n"


@pytest.mark.parametrize("args,error", [
    (["ID", "abc"], "ERR client-id should be greater than 0"),
    (["ID", "0"], "ERR client-id should be greater than 0"),
    (["ID", "-1"], "ERR client-id should be greater than 0"),
    (["ID"], "ERR No such client"),  # one argument: the old form, an address
    (["FOO", "bar"], "ERR syntax error"),
    (["ID", "1", "SKIPME", "maybe"], "ERR syntax error"),
    (["TYPE", "foo"], "ERR Unknown client type 'foo'"),
    (["USER", "nobody"], "ERR No such user 'nobody'"),
    (["1.2.3.4:5"], "ERR No such client"),
])
def test_client_kill_errors(raw, args, error):
    assert raw.call("CLIENT", "KILL", *args) == error
    assert raw.call("PING") == "PONG"


def test_client_help_and_unknown_subcommand(raw):
    lines = raw.call("CLIENT", "HELP")
    assert all(isinstance(x, Simple) for x in lines)
    assert lines[0] == "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:"
    assert lines[-2:] == ["HELP", "    Prints this help."]
    # Redis 7.0's entries for the subcommands Parley has.
    for entry in [["GETNAME", "    Return the name of the current connection."],
                  ["ID", "    Return the ID of the current connection."],
                  ["KILL <ip:port>", "    Kill connection made from <ip:port>."],
                  ["SETNAME <name>", "    Assign the name <name> to the current connection."],
                  ["    * SKIPME (YES|NO)", "      Skip killing current connection (default: yes)."]]:
        i = lines.index(entry[0])
        assert lines[i:i + 2] == entry
    assert raw.call("CLIENT", "foo") == "ERR unknown subcommand 'foo'. Try CLIENT HELP."
    assert raw.call("CLIENT", "foo", "bar") == "ERR unknown subcommand 'foo'. Try CLIENT HELP."
    assert raw.call("CLIENT") == ARITY % "client"
    assert raw.call("CLIENT", "HELP", "x") == ARITY % "client|help"


# ---------------------------------------------------------------- COMMAND

def test_command_count_and_list(raw):
    count = raw.call("COMMAND", "COUNT")
    names = raw.call("COMMAND", "LIST")
    assert len(names) == len(set(names))
    # Subcommands are listed too (as Redis 7.0 lists them); COUNT counts commands.
    assert count == len([n for n in names if b"|" not in n])
    assert {b"get", b"set", b"ping", b"client", b"command", b"config", b"info"} <= set(names)
    assert b"client|id" in names
    assert len(raw.call("COMMAND")) == count
    got = set(raw.call("COMMAND", "LIST", "FILTERBY", "PATTERN", "ge*"))
    assert {b"get", b"getset", b"getdel", b"getex", b"getrange"} <= got
    assert all(n.startswith(b"ge") for n in got)
    assert set(raw.call("COMMAND", "LIST", "FILTERBY", "ACLCAT", "connection")) >= \
        {b"ping", b"echo", b"hello", b"select"}
    assert raw.call("COMMAND", "LIST", "FILTERBY", "foo", "x") == "ERR syntax error"
    assert raw.call("COMMAND", "LIST", "x") == "ERR syntax error"
    assert raw.call("COMMAND", "COUNT", "x") == ARITY % "command|count"
    assert raw.call("COMMAND", "foo") == "ERR unknown subcommand 'foo'. Try COMMAND HELP."


def test_command_info_shape(raw):
    [get] = raw.call("COMMAND", "INFO", "get")
    assert len(get) == 10
    name, arity, flags, first, last, step, acl, tips, specs, subs = get
    assert (name, arity, first, last, step) == (b"get", 2, 1, 1, 1)
    assert set(flags) == {"readonly", "fast"}
    assert set(acl) == {"@read", "@string", "@fast"}
    assert tips == [] and subs == []
    [mset] = raw.call("COMMAND", "INFO", "MSET")
    assert mset[:6] == [b"mset", -3, mset[2], 1, -1, 2]
    assert set(mset[2]) == {"write", "denyoom"}
    [setname] = raw.call("COMMAND", "INFO", "client|setname")
    assert setname[0] == b"client|setname" and setname[1] == 3
    assert setname[2] == ["noscript", "loading", "stale"]
    assert setname[6] == ["@slow", "@connection"]
    # Flags and categories come in Redis's order.
    [hello, kill, ping] = raw.call("COMMAND", "INFO", "hello", "client|kill", "ping")
    assert hello[2] == ["noscript", "loading", "stale", "fast", "no_auth", "allow_busy"]
    assert kill[2] == ["admin", "noscript", "loading", "stale"]
    assert kill[6] == ["@admin", "@slow", "@dangerous", "@connection"]
    assert ping[2] == ["fast"] and ping[6] == ["@fast", "@connection"]
    [client] = raw.call("COMMAND", "INFO", "client")
    assert client[0] == b"client" and client[1] == -2
    assert {s[0] for s in client[9]} >= {b"client|id", b"client|kill", b"client|list"}
    # Unknown commands are a null in their place: $-1 in RESP2, _ in RESP3.
    assert raw.call("COMMAND", "INFO", "get", "nosuch")[1] is None
    assert raw.last_raw.endswith(b"$-1\r\n")
    raw.call("HELLO", "3")
    assert raw.call("COMMAND", "INFO", "nosuch") == [None]
    assert raw.last_raw == b"*1\r\n_\r\n"
    [get3] = raw.call("COMMAND", "INFO", "get")
    assert raw.last_raw.startswith(b"*1\r\n*10\r\n$3\r\nget\r\n:2\r\n~2\r\n")


def test_command_docs(raw):
    docs = raw.call("COMMAND", "DOCS", "get", "nosuch", "echo")
    d = dict(zip(docs[::2], docs[1::2]))
    assert set(d) == {b"get", b"echo"}
    get = dict(zip(d[b"get"][::2], d[b"get"][1::2]))
    assert get[b"summary"] == b"Get the value of a key"
    assert (get[b"since"], get[b"group"], get[b"complexity"]) == (b"1.0.0", b"string", b"O(1)")
    echo = dict(zip(d[b"echo"][::2], d[b"echo"][1::2]))
    assert echo[b"summary"] == b"Echo the given string"
    assert (echo[b"since"], echo[b"group"], echo[b"complexity"]) == (b"1.0.0", b"connection", b"O(1)")
    assert raw.call("COMMAND", "DOCS", "nosuch") == []
    raw.call("HELLO", "3")
    m = raw.call("COMMAND", "DOCS", "ping")
    assert raw.last_raw.startswith(b"%1\r\n$4\r\nping\r\n%")
    assert m[b"ping"][b"summary"] == b"Ping the server"
    client = raw.call("COMMAND", "DOCS", "client")[b"client"]
    assert client[b"group"] == b"connection"
    assert client[b"subcommands"][b"client|kill"][b"summary"] == b"Kill the connection of a client"


def test_command_help(raw):
    # Redis 7.0's text.
    assert raw.call("COMMAND", "HELP") == [
        "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "(no subcommand)",
        "    Return details about all Redis commands.",
        "COUNT",
        "    Return the total number of commands in this Redis server.",
        "LIST",
        "    Return a list of all commands in this Redis server.",
        "INFO [<command-name> ...]",
        "    Return details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "DOCS [<command-name> ...]",
        "    Return documentation details about multiple Redis commands.",
        "    If no command names are given, documentation details for all",
        "    commands are returned.",
        "GETKEYS <full-command>",
        "    Return the keys from a full Redis command.",
        "GETKEYSANDFLAGS <full-command>",
        "    Return the keys and the access flags from a full Redis command.",
        "HELP",
        "    Prints this help.",
    ]


# ---------------------------------------------------------------- INFO

def test_info_default_sections(server, r):
    r.set("a", "1")
    r.set("b", "2", ex=1000)
    text = info_text(server)
    sections = re.findall(r"^# (\w+)\r?$", text, re.M)
    for s in ["Server", "Clients", "Memory", "Stats", "Keyspace", "Raft"]:
        assert s in sections
    assert sections[0] == "Server"
    info = parse_info(text)
    assert info["redis_version"] == "7.0.15"
    assert re.fullmatch(r"\d+\.\d+\.\d+", info["parley_version"])
    assert int(info["connected_clients"]) >= 1
    assert info["tcp_port"] == str(server.port)
    assert info["db0"] == "keys=2,expires=1,avg_ttl=0"
    assert info["raft_role"] == "leader"
    assert int(info["process_id"]) == server.proc.pid
    run_id = info["run_id"]
    assert re.fullmatch(r"[0-9a-f]{40}", run_id)
    assert run_id[:16] != run_id[16:32]  # random, not a 16-digit pattern repeated
    assert "\r\n" in text and not text.endswith("\r\n\r\n")


def clients_snapshot(port):
    """connected_clients and CLIENT LIST's ids, read in one pipeline so that
    no connection can come or go between the two."""
    with RawConn(port) as c:
        c.send(resp_encode("INFO", "clients") + resp_encode("CLIENT", "LIST"))
        count = int(parse_info(c.read().decode())["connected_clients"])
        ids = {int(m) for m in re.findall(rb"^id=(\d+) ", c.read(), re.M)}
        return count, ids


def test_info_counts_clients(server):
    extra = [RawConn(server.port) for _ in range(3)]
    try:
        ids = {c.call("CLIENT", "ID") for c in extra}
        count, listed = clients_snapshot(server.port)
        assert ids <= listed and count == len(listed)
    finally:
        for c in extra:
            c.close()

    def gone():
        count, listed = clients_snapshot(server.port)
        return not (ids & listed) and count == len(listed)
    wait_until(gone, message="closed clients to be counted out")


def test_info_one_section(server, r):
    r.set("k", "v")
    text = info_text(server, "keyspace")
    assert text == "# Keyspace\r\ndb0:keys=1,expires=0,avg_ttl=0\r\n"
    assert info_text(server, "KEYSPACE") == text
    server_text = info_text(server, "server")
    assert server_text.startswith("# Server\r\nredis_version:7.0.15\r\n")
    assert "# Clients" not in server_text and "connected_clients" not in server_text
    raft = info_text(server, "raft")
    assert raft.startswith("# Raft\r\n") and raft.count("# ") == 1
    assert parse_info(raft)["raft_role"] == "leader"
    assert info_text(server, "nosuchsection") == ""


def test_info_several_sections_in_fixed_order(server):
    # Redis 7: each section once, in its own order, whatever the arguments' order.
    text = info_text(server, "keyspace", "server", "KEYSPACE", "clients")
    assert re.findall(r"^# (\w+)", text, re.M) == ["Server", "Clients", "Keyspace"]
    assert text.count("redis_version:") == 1
    everything = info_text(server, "everything")
    assert re.findall(r"^# (\w+)", everything, re.M) == \
        re.findall(r"^# (\w+)", info_text(server, "all"), re.M)
    assert re.findall(r"^# (\w+)", info_text(server, "default", "keyspace"), re.M) == \
        re.findall(r"^# (\w+)", info_text(server), re.M)


def test_info_resp3_is_verbatim(server):
    with RawConn(server.port) as c:
        c.call("HELLO", "3")
        v = c.call("INFO", "server")
        assert isinstance(v, Verbatim) and v.fmt == b"txt"
        assert c.last_raw.startswith(b"=%d\r\ntxt:# Server\r\n" % (len(v) + 4))
        assert b"redis_version:7.0.15\r\n" in v


def test_info_stats_counters(server, r):
    before = r.info("stats")
    for _ in range(10):
        r.ping()
    after = r.info("stats")
    assert after["total_commands_processed"] >= before["total_commands_processed"] + 10
    assert after["total_connections_received"] >= before["total_connections_received"]
    assert r.config_resetstat()
    assert r.info("stats")["total_commands_processed"] < before["total_commands_processed"] + 10


# ---------------------------------------------------------------- CONFIG

def test_config_get(raw):
    assert raw.call("CONFIG", "GET", "maxclients") == [b"maxclients", b"10000"]
    got = raw.call("CONFIG", "GET", "*max*bulk*")
    assert got == [b"proto-max-bulk-len", b"536870912"]
    assert raw.call("CONFIG", "GET", "nosuch") == []
    # Each directive once, however many patterns match it.
    max_all = {b"maxclients": b"10000", b"maxmemory": b"0", b"maxmemory-clients": b"0",
               b"maxmemory-policy": b"noeviction", b"maxmemory-samples": b"5"}
    pairs = raw.call("CONFIG", "GET", "maxclients", "maxclients", "max*")
    assert len(pairs) == 2 * len(max_all) and dict(zip(pairs[::2], pairs[1::2])) == max_all
    pairs = raw.call("CONFIG", "GET", "maxclients", "proto-max-bulk-len", "client-query-buffer-limit")
    assert dict(zip(pairs[::2], pairs[1::2])) == {
        b"maxclients": b"10000", b"proto-max-bulk-len": b"536870912",
        b"client-query-buffer-limit": b"1073741824"}
    # A name without glob characters is answered under the name as given.
    assert raw.call("CONFIG", "GET", "MAXCLIENTS") == [b"MAXCLIENTS", b"10000"]
    pairs = raw.call("CONFIG", "GET", "MAX*")
    assert dict(zip(pairs[::2], pairs[1::2])) == max_all
    # Listed once, under the first spelling that matched it.
    assert raw.call("CONFIG", "GET", "maxclients", "MAXCLIENTS") == [b"maxclients", b"10000"]
    pairs = raw.call("CONFIG", "GET", "MAXCLIENTS", "max*")
    assert pairs[:2] == [b"MAXCLIENTS", b"10000"] and b"maxclients" not in pairs
    assert dict(zip(pairs[2::2], pairs[3::2])) == {k: v for k, v in max_all.items()
                                                  if k != b"maxclients"}
    assert raw.call("CONFIG", "GET") == ARITY % "config|get"


def test_config_get_resp3_is_a_map(raw):
    raw.call("HELLO", "3")
    assert raw.call("CONFIG", "GET", "maxclients") == {b"maxclients": b"10000"}
    assert raw.last_raw == b"%1\r\n$10\r\nmaxclients\r\n$5\r\n10000\r\n"
    assert raw.call("CONFIG", "GET", "nosuch") == {} and raw.last_raw == b"%0\r\n"


def test_config_set_maxclients(server, raw):
    try:
        assert raw.call("CONFIG", "SET", "maxclients", "5000") == "OK"
        assert raw.call("CONFIG", "GET", "maxclients") == [b"maxclients", b"5000"]
        assert parse_info(raw.call("INFO", "clients").decode())["maxclients"] == "5000"
        assert raw.call("CONFIG", "SET", "MaxClients", "9999") == "OK"
        assert raw.call("CONFIG", "GET", "maxclients") == [b"maxclients", b"9999"]
    finally:
        assert raw.call("CONFIG", "SET", "maxclients", "10000") == "OK"


FAILED = "ERR CONFIG SET failed (possibly related to argument '%s') - %s"


@pytest.mark.parametrize("args,error", [
    (["nosuch", "1"], "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
    (["node-id", "1234"], FAILED % ("node-id", "can't set immutable config")),  # start-up only
    (["maxclients", "abc"], FAILED % ("maxclients", "argument couldn't be parsed into an integer")),
    (["maxclients", "1.5"], FAILED % ("maxclients", "argument couldn't be parsed into an integer")),
    (["maxclients", "0"], FAILED % ("maxclients", "argument must be between 1 and 1000000 inclusive")),
    (["proto-max-bulk-len", "abc"], FAILED % ("proto-max-bulk-len", "argument must be a memory value")),
    (["proto-max-bulk-len", "100"],
     FAILED % ("proto-max-bulk-len", "argument must be between 1048576 and 9223372036854775807 inclusive")),
    (["client-query-buffer-limit", "1k"],
     FAILED % ("client-query-buffer-limit", "argument must be between 1048576 and 9223372036854775807 inclusive")),
    (["client-output-buffer-limit", "normal 1 2"],
     FAILED % ("client-output-buffer-limit", "Wrong number of arguments in buffer limit configuration.")),
    (["client-output-buffer-limit", "foo 0 0 0"],
     FAILED % ("client-output-buffer-limit", "Invalid client class specified in buffer limit configuration.")),
    (["client-output-buffer-limit", "normal x 0 0"],
     FAILED % ("client-output-buffer-limit",
               "Error in hard, soft or soft_seconds setting in buffer limit configuration.")),
    (["client-output-buffer-limit", "normal 1mb 2mb -1"],
     FAILED % ("client-output-buffer-limit",
               "Error in hard, soft or soft_seconds setting in buffer limit configuration.")),
    (["maxclients", "10000", "foo"], "ERR syntax error"),
    (["maxclients", "10", "MAXCLIENTS", "20"], FAILED % ("MAXCLIENTS", "duplicate parameter")),
    (["maxclients", "abc", "nosuch", "1"],
     "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"),
    (["maxclients", "5000", "proto-max-bulk-len", "abc"],
     FAILED % ("proto-max-bulk-len", "argument must be a memory value")),
    (["maxclients", "5000", "node-id", "2"], FAILED % ("node-id", "can't set immutable config")),
    (["maxclients", "5000", "client-output-buffer-limit", "normal 1 2 3 foo 0 0 0"],
     FAILED % ("client-output-buffer-limit", "Invalid client class specified in buffer limit configuration.")),
])
def test_config_set_errors_change_nothing(raw, args, error):
    before = raw.call("CONFIG", "GET", "*")
    assert raw.call("CONFIG", "SET", *args) == error
    assert raw.call("CONFIG", "GET", "*") == before


def test_config_set_several_at_once(raw):
    try:
        assert raw.call("CONFIG", "SET", "maxclients", "777", "client-output-buffer-limit",
                        "normal 1mb 2mb 60") == "OK"
        got = dict(zip(*[iter(raw.call("CONFIG", "GET", "maxclients", "client-output-buffer-limit"))] * 2))
        assert got[b"maxclients"] == b"777"
        assert got[b"client-output-buffer-limit"].startswith(b"normal 1048576 2097152 60 ")
    finally:
        assert raw.call("CONFIG", "SET", "maxclients", "10000",
                        "client-output-buffer-limit", "normal 0 0 0") == "OK"


def test_config_other_subcommands(raw):
    assert raw.call("CONFIG", "RESETSTAT") == "OK"
    assert raw.call("CONFIG", "RESETSTAT", "x") == ARITY % "config|resetstat"
    assert raw.call("CONFIG", "SET", "maxclients") == ARITY % "config|set"
    assert raw.call("CONFIG", "foo") == "ERR unknown subcommand 'foo'. Try CONFIG HELP."
    assert raw.call("CONFIG") == ARITY % "config"
    # Redis 7.0's text, less REWRITE.
    assert raw.call("CONFIG", "HELP") == [
        "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET <pattern>",
        "    Return parameters matching the glob-like <pattern> and their values.",
        "SET <directive> <value>",
        "    Set the configuration <directive> to <value>.",
        "RESETSTAT",
        "    Reset statistics reported by the INFO command.",
        "REWRITE",
        "    Rewrite the configuration file.",
        "HELP",
        "    Prints this help.",
    ]


# ---------------------------------------------------------------- TIME, RAFT

def test_time(raw):
    before = time.time()
    secs, usecs = raw.call("TIME")
    after = time.time()
    assert re.fullmatch(rb"[1-9]\d*", secs) and re.fullmatch(rb"0|[1-9]\d{0,5}", usecs)
    t = int(secs) + int(usecs) / 1e6
    assert before - 1 <= t <= after + 1
    assert raw.call("TIME", "x") == ARITY % "time"


def test_raft_info_single_node(server, r):
    r.set("raft:k", "v")  # at least one applied entry
    text = r.execute_command("RAFT", "INFO")
    info = parse_info(text)
    assert info["node_id"] == "1" and info["role"] == "leader"
    assert info["leader_id"] == "1"
    assert info["leader_addr"] == f"127.0.0.1:{server.port}"
    term, commit, applied, last = (int(info[k]) for k in
                                   ["term", "commit_index", "applied_index", "last_index"])
    assert term >= 1 and last >= commit >= applied >= 1
    assert info["members"] == "1"
    assert info["member0"] == f"1@{server.raft_addr}:voter:127.0.0.1:{server.port}"
    # INFO raft says the same.
    raft = r.info("raft")
    assert raft["raft_role"] == "leader" and raft["raft_node_id"] == 1
    assert raft["raft_term"] == term
    with pytest.raises(redis.ResponseError, match=r"^unknown subcommand 'foo'\. Try RAFT HELP\.$"):
        r.execute_command("RAFT", "foo")
    with pytest.raises(redis.ResponseError, match=r"^wrong number of arguments for 'raft' command$"):
        r.execute_command("RAFT")


# ---------------------------------------------------------------- RESP3

def test_resp3_reply_types(server, r):
    r.set("str", "v")
    with RawConn(server.port) as c:
        assert c.call("GET", "missing") is None and c.last_raw == b"$-1\r\n"
        c.call("HELLO", "3")
        assert c.call("GET", "missing") is None and c.last_raw == b"_\r\n"
        assert c.call("GET", "str") == b"v" and c.last_raw == b"$1\r\nv\r\n"
        assert c.call("PING") == "PONG" and c.last_raw == b"+PONG\r\n"
        assert c.call("CLIENT", "GETNAME") is None and c.last_raw == b"_\r\n"
        assert c.call("MGET", "str", "missing") == [b"v", None]
        assert c.last_raw == b"*2\r\n$1\r\nv\r\n_\r\n"
        assert c.call("INCR", "counter") == 1 and c.last_raw == b":1\r\n"
        assert isinstance(c.call("NOSUCH"), Err) and c.last_raw.startswith(b"-ERR unknown command")
        # Back to RESP2 on the same connection.
        c.call("HELLO", "2")
        assert c.call("GET", "missing") is None and c.last_raw == b"$-1\r\n"


CLIENT_REPLY_CASES = [
    [("CLIENT", "REPLY", "OFF"), ("SET", "a", "1"), ("GET", "a"), ("INCR", "a"), ("CLIENT", "REPLY", "ON"),
     ("GET", "a")],
    [("CLIENT", "REPLY", "SKIP"), ("SET", "b", "1"), ("GET", "b")],
    [("CLIENT", "REPLY", "SKIP"), ("PING",), ("PING", "x")],
    [("CLIENT", "REPLY", "SKIP"), ("CLIENT", "REPLY", "ON"), ("PING", "y")],
    [("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "SKIP"), ("PING",), ("CLIENT", "REPLY", "ON"), ("PING",)],
    [("CLIENT", "REPLY", "SKIP"), ("NOSUCH",), ("GET",), ("LPUSH", "c", "1")],
    [("CLIENT", "REPLY", "MAYBE"), ("CLIENT", "REPLY", "OFF"), ("CLIENT", "REPLY", "MAYBE"),
     ("CLIENT", "REPLY", "ON")],
]


@pytest.mark.parametrize("case", range(len(CLIENT_REPLY_CASES)))
def test_client_reply_matches_redis(server, redis_ref, case):
    """CLIENT REPLY ON|OFF|SKIP: the bytes a pipelined client gets, against
    redis-server (writes go through the log and answer later)."""
    payload = b"".join(resp_encode(*cmd) for cmd in CLIENT_REPLY_CASES[case]) + resp_encode("PING", "end")
    got = []
    for port in (server.port, redis_ref.port):
        raw_command(port, resp_encode("FLUSHALL"), read_until=b"\r\n")
        got.append(raw_command(port, payload, read_until=b"$3\r\nend\r\n"))
    assert got[0] == got[1]


def test_client_pause_write_holds_writes_until_unpause(server):
    import threading
    admin = server.client()
    admin.set("k", "before")
    assert admin.execute_command("CLIENT", "PAUSE", 10000, "WRITE") == "OK"
    try:
        writer = server.client()
        done = []
        t = threading.Thread(target=lambda: done.append(writer.set("k", "after")))
        t.start()
        # Reads go on; the write waits.
        assert admin.get("k") == "before"
        time.sleep(0.2)
        assert done == [] and admin.get("k") == "before"
        p = admin.pipeline(transaction=True)  # a transaction that only reads runs
        p.get("k")
        assert p.execute() == ["before"]
    finally:
        assert admin.execute_command("CLIENT", "UNPAUSE") == "OK"
    t.join(10)
    assert done == [True] and admin.get("k") == "after"


def test_client_pause_ends_by_itself_and_errors(server, raw):
    c = server.client()
    assert c.execute_command("CLIENT", "PAUSE", 100, "ALL") == "OK"
    start = time.monotonic()
    assert c.ping()  # held until the pause ends
    assert time.monotonic() - start >= 0.05
    assert raw.call("CLIENT", "PAUSE", "x") == "ERR timeout is not an integer or out of range"
    assert raw.call("CLIENT", "PAUSE", -1) == "ERR timeout is negative"
    assert raw.call("CLIENT", "PAUSE", 10, "MAYBE") == "ERR CLIENT PAUSE mode must be WRITE or ALL"
    assert raw.call("CLIENT", "UNPAUSE") == "OK"


def test_client_pause_inside_multi_starts_after_the_transaction(server):
    """CLIENT PAUSE queued in MULTI: the transaction's writes after it still
    run; the next write from another client waits for CLIENT UNPAUSE."""
    import threading
    c = server.client()
    p = c.pipeline(transaction=True)
    p.set("tx:1", "a")
    p.execute_command("CLIENT", "PAUSE", 10000, "WRITE")
    p.set("tx:2", "b")
    try:
        assert p.execute() == [True, "OK", True]
        assert c.get("tx:1") == "a" and c.get("tx:2") == "b"
        writer = server.client()
        done = []
        t = threading.Thread(target=lambda: done.append(writer.set("tx:3", "c")))
        t.start()
        wait_until(lambda: c.info("clients")["blocked_clients"] == 1, message="the write held")
        assert done == [] and c.get("tx:3") is None
    finally:
        assert c.execute_command("CLIENT", "UNPAUSE") == "OK"
    t.join(10)
    assert done == [True] and c.get("tx:3") == "c"


def test_keys_do_not_expire_while_clients_are_paused(server, redis_ref):
    """Redis 7.0: while clients are paused no key is deleted by expiry (it
    reads as gone); after CLIENT UNPAUSE the next command sees it deleted."""
    for node in (server, redis_ref):
        c = node.client() if hasattr(node, "client") else redis.Redis(port=node.port, decode_responses=True)
        c.flushall()
        before = c.info("stats")["expired_keys"]
        c.set("soon", "v", px=20)
        assert c.execute_command("CLIENT", "PAUSE", 10000, "WRITE") in ("OK", True)
        try:
            wait_until(lambda: c.get("soon") is None, message="the key reads as expired")
            # Several active-expiry periods (100 ms) pass: nothing is deleted.
            deadline = time.monotonic() + 0.4
            while time.monotonic() < deadline:
                assert c.info("stats")["expired_keys"] == before
                assert c.dbsize() == 1
                time.sleep(0.05)
        finally:
            assert c.execute_command("CLIENT", "UNPAUSE") in ("OK", True)
        c.get("soon")  # Redis deletes it on access; Parley's UNPAUSE already did
        assert c.info("stats")["expired_keys"] == before + 1
