"""The bank example (examples/bank.c, hiredis): workers move money between
accounts under a lock with fencing tokens (LOCK.FENCED in MULTI) or with
MULTI/WATCH, on a three-node cluster, while a worker is killed, another is
stopped (SIGSTOP) past its lock's TTL, and the leader is killed. The total never changes and every transfer is applied exactly once
(the log of applied transfers replays to the balances)."""
import signal
import subprocess

import pytest

from conftest import wait_until

ACCOUNTS = "8"


@pytest.fixture(scope="module")
def bank(examples):
    return examples("bank")


def run(bank, hosts, *args, timeout=60):
    return subprocess.run([bank, "-h", hosts, "--accounts", ACCOUNTS, *args], capture_output=True,
                          text=True, timeout=timeout)


def test_transfers_keep_the_total_across_worker_and_leader_kills(bank, make_cluster, tmp_path):
    cl = make_cluster().start()
    hosts = ",".join(f"127.0.0.1:{n.port}" for n in cl.nodes)
    assert run(bank, hosts, "--balance", "1000", "init").returncode == 0
    workers = {}

    def start(name, mode):
        log = open(tmp_path / f"{name}.log", "ab")
        workers[name] = subprocess.Popen(
            [bank, "-h", hosts, "--accounts", ACCOUNTS, "--name", name, "--mode", mode,
             "--transfers", "150", "work"], stdout=log, stderr=subprocess.STDOUT)
        log.close()

    for name, mode in [("lock-1", "lock"), ("lock-2", "lock"), ("watch-1", "watch"), ("watch-2", "watch")]:
        start(name, mode)
    c = cl.leader().client()
    try:
        wait_until(lambda: c.scard("bank:applied") >= 100, 60, message="transfers to be applied")
        workers["lock-1"].send_signal(signal.SIGKILL)  # mid-transfer, maybe holding the lock
        workers["lock-1"].wait(10)
        start("lock-1", "lock")  # the same name: it resumes, skipping what was applied
        # A holder stalls past its lock's TTL (2 s): the others go on, and
        # whatever it sends when it wakes is fenced off.
        workers["lock-2"].send_signal(signal.SIGSTOP)
        before = c.scard("bank:applied")
        wait_until(lambda: c.scard("bank:applied") >= before + 20, 30,
                   message="the other workers to go on while one is stopped")
        workers["lock-2"].send_signal(signal.SIGCONT)
        cl.leader().kill()
        for name, proc in workers.items():
            assert proc.wait(150) == 0, (tmp_path / f"{name}.log").read_text()
        check = run(bank, hosts, "--balance", "1000", "check")
        assert check.returncode == 0, check.stdout + check.stderr
        assert check.stdout.strip() == "total 8000 transfers 600 applied 600 consistent"
    finally:
        for proc in workers.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
