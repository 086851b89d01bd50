"""What `make install` puts down works: the binary, a parley.conf naming
every directive with a default a node starts with, a manual page that
renders, a systemd unit systemd-analyze accepts, and the node tells systemd
(NOTIFY_SOCKET) when it is ready and when it stops."""
import os
import re
import shutil
import signal
import socket
import subprocess

import pytest
import redis

from conftest import ROOT, SERVER, Node, free_port
from exact import exact_client


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = str(tmp_path_factory.mktemp("install"))
    subprocess.run(["make", "-s", "install", f"DESTDIR={dest}", "PREFIX=/usr/local",
                    f"INSTALL_BINARY={os.path.abspath(SERVER)}"], cwd=ROOT, check=True, timeout=300,
                   stdout=subprocess.DEVNULL)
    return os.path.join(dest, "usr", "local")


def test_make_install_puts_down_every_file(installed):
    for path in ["bin/parley-server", "etc/parley/parley.conf",
                 "share/man/man1/parley-server.1", "lib/systemd/system/parley.service"]:
        assert os.path.isfile(os.path.join(installed, path)), path
    out = subprocess.run([os.path.join(installed, "bin/parley-server"), "--version"],
                         capture_output=True, text=True, timeout=10)
    assert out.returncode == 0 and "parley-server" in out.stdout


def test_the_config_file_names_every_directive_with_a_working_default(installed, tmp_path, r):
    names = set(r.config_get("*"))
    text = open(os.path.join(installed, "etc/parley/parley.conf")).read()
    missing = sorted(n for n in names if not re.search(rf"(?<![a-z-]){re.escape(n)}(?![a-z-])", text))
    assert missing == [], f"directives the file does not mention: {missing}"
    # Every commented "name default" line, uncommented: a node starts with it.
    lines = [m.group(1) for m in re.finditer(r"^# ([a-z][a-z0-9-]* .*)$", text, re.M)
             if m.group(1).split()[0] in names]
    assert len(lines) >= len(names) - 10
    conf = tmp_path / "all.conf"
    conf.write_text("\n".join(lines) + "\n")
    node = Node(str(tmp_path), extra=[])
    node.args = lambda: [SERVER, str(conf), "--port", str(node.port), "--dir", node.dir,
                         "--raft-addr", node.raft_addr]
    node.start()
    try:
        assert node.client().ping()
    finally:
        assert node.stop() == 0


def test_the_manual_page_renders_without_warnings(installed):
    if shutil.which("groff") is None:
        pytest.skip("groff is not installed")
    out = subprocess.run(["groff", "-man", "-ww", "-z",
                          os.path.join(installed, "share/man/man1/parley-server.1")],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stderr == "", out.stderr


def test_systemd_accepts_the_unit(installed, tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    unit = open(os.path.join(installed, "lib/systemd/system/parley.service")).read()
    assert "Type=notify" in unit and "NoNewPrivileges=yes" in unit and "ProtectSystem=strict" in unit
    # Verified where it was installed: its ExecStart and man page must exist.
    local = tmp_path / "parley.service"
    local.write_text(unit.replace("ExecStart=/usr/local/", f"ExecStart={installed}/"))
    env = dict(os.environ, MANPATH=os.path.join(installed, "share/man"))
    out = subprocess.run(["systemd-analyze", "verify", str(local)], capture_output=True, text=True,
                         env=env, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_node_tells_systemd_it_is_ready_and_stopping(tmp_path):
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(30)
    node = Node(str(tmp_path))
    env = dict(os.environ, NOTIFY_SOCKET=path)
    node.log = open(node.log_path, "ab")
    node.proc = subprocess.Popen(node.args(), stdout=node.log, stderr=subprocess.STDOUT, env=env)
    try:
        ready = sock.recv(4096).decode()
        assert "READY=1" in ready
        assert node.client().ping()  # ready means it answers
        node.proc.send_signal(signal.SIGTERM)
        assert "STOPPING=1" in sock.recv(4096).decode()
        assert node.proc.wait(30) == 0
    finally:
        node.kill()
        sock.close()


def test_config_rewrite_writes_what_config_set_changed(tmp_path):
    conf = tmp_path / "parley.conf"
    conf.write_text("# my settings\nmaxclients 500\nloglevel notice\n\nmaxclients 600\n"
                    "# slowlog-max-len 128\n")
    node = Node(str(tmp_path))
    node.args = lambda: [SERVER, str(conf), "--port", str(node.port), "--dir", node.dir,
                         "--raft-addr", node.raft_addr]
    node.start()
    try:
        c = node.client()
        c.config_set("maxclients", 700)
        c.config_set("slowlog-max-len", 64)
        c.config_set("tls-protocols", "TLSv1.2 TLSv1.3")
        c.config_set("list-max-ziplist-size", 16)  # an old name: the new one is written
        assert c.execute_command("CONFIG", "REWRITE") == "OK"
        text = conf.read_text()
        assert text.startswith("# my settings\nmaxclients 700\nloglevel notice\n\n")
        assert text.count("maxclients") == 1 and "# slowlog-max-len 128\n" in text
        assert "slowlog-max-len 64\n" in text and 'tls-protocols "TLSv1.2 TLSv1.3"\n' in text
        assert "list-max-listpack-size 16\n" in text and "ziplist" not in text
    finally:
        assert node.stop() == 0
    node.start()  # the rewritten file is read back as written
    try:
        c = node.client()
        assert c.config_get("maxclients") == {"maxclients": "700"}
        assert c.config_get("tls-protocols") == {"tls-protocols": "TLSv1.2 TLSv1.3"}
        assert c.config_get("slowlog-max-len") == {"slowlog-max-len": "64"}
    finally:
        assert node.stop() == 0


def test_config_rewrite_keeps_a_new_port_and_redis_only_settings(tmp_path):
    """A redis.conf's save points and fixed settings are read; CONFIG SET
    port (moved at run time), save and maxmemory-clients are written back
    and read again at the next start."""
    conf = tmp_path / "parley.conf"
    node = Node(str(tmp_path))
    conf.write_text(f"port {node.port}\nsave 900 1\ndaemonize no\ndatabases 16\n")
    node.args = lambda: [SERVER, str(conf), "--dir", node.dir, "--raft-addr", node.raft_addr]
    node.start()
    try:
        c = node.client()
        assert c.config_get("save") == {"save": "900 1"}
        moved = free_port()
        assert c.execute_command("CONFIG", "SET", "port", str(moved), "save", "3000 5",
                                 "maxmemory-clients", "10%") == "OK"
        assert c.execute_command("CONFIG", "REWRITE") == "OK"
        text = conf.read_text()
        assert f"port {moved}\n" in text and 'save "3000 5"\n' in text
        assert "maxmemory-clients 10%\n" in text and "daemonize no\n" in text
    finally:
        assert node.stop() == 0
    node.port = moved
    node.start()
    try:
        assert node.client().config_get("save") == {"save": "3000 5"}
        assert node.client().config_get("maxmemory-clients") == {"maxmemory-clients": "10%"}
    finally:
        assert node.stop() == 0


def test_config_rewrite_without_a_file_is_refused_as_redis_refuses_it(server, redis_ref):
    answers = []
    for c in (exact_client(server), exact_client(redis_ref)):
        with pytest.raises(redis.ResponseError) as e:
            c.execute_command("CONFIG", "REWRITE")
        answers.append(str(e.value))
    assert answers[0] == answers[1]
