"""The Prometheus endpoint (metrics-port): /metrics in the text format,
scraped with urllib and parsed; /health follows the node's Raft state;
behind requirepass a scrape logs in with HTTP Basic auth."""
import base64
import json
import os
import re
import urllib.error
import urllib.request

from conftest import ROOT, free_port, wait_until, wait_writable

SAMPLE = re.compile(r'^([a-z_]+)(\{[^}]*\})? (\S+)$')


def scrape(port, path="/metrics", auth=None):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}")
    if auth:
        req.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def parse(text):
    """{(name, labels): value}; every line is a comment or a sample."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("#"):
            assert line.startswith("# HELP ") or line.startswith("# TYPE "), line
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample: {line!r}"
        samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples


def test_metrics_and_health_of_a_single_node(make_node):
    mport = free_port()
    node = make_node(extra=["--metrics-port", str(mport)]).start()
    wait_writable(node)
    c = node.client()
    for i in range(10):
        c.set(f"m:{i}", i)
    c.get("m:1")
    c.get("nope")
    try:
        c.execute_command("INCR", "m:x", "extra")
    except Exception:
        pass
    status, text = scrape(mport)
    assert status == 200
    m = parse(text)
    assert m[("parley_keys", '{db="0"}')] >= 10
    assert m[("parley_command_calls_total", '{cmd="set"}')] >= 10
    assert m[("parley_command_errors_total", '{cmd="incr"}')] >= 1
    assert m[("parley_keyspace_hits_total", "")] >= 1 and m[("parley_keyspace_misses_total", "")] >= 1
    assert m[("parley_raft_role", '{role="leader"}')] == 1
    assert m[("parley_raft_applied_index", "")] >= m[("parley_raft_commit_index", "")] > 0
    assert m[("parley_command_duration_seconds_count", '{cmd="set"}')] == \
        m[("parley_command_duration_seconds_bucket", '{cmd="set",le="+Inf"}')]
    assert m[("parley_connected_clients", "")] >= 1
    status, body = scrape(mport, "/health")
    assert status == 200 and body.startswith("ok")
    assert scrape(mport, "/nothing")[0] == 404


def metrics_cluster(make_cluster):
    """A started 3-node cluster whose nodes serve metrics, and their ports."""
    ports = [free_port() for _ in range(3)]
    cl = make_cluster()
    for n, p in zip(cl.nodes, ports):
        n.extra += ["--metrics-port", str(p)]
    cl.start()
    return cl, ports


def test_health_is_503_without_a_leader_and_followers_report_their_lag(make_cluster):
    cl, ports = metrics_cluster(make_cluster)
    leader = cl.leader()
    leader.client().set("m:c", "1")
    lport = ports[cl.nodes.index(leader)]
    wait_until(lambda: sum(1 for k in parse(scrape(lport)[1])
                           if k[0] == "parley_raft_follower_match_index") == 2, 10,
               message="the leader to report both followers")
    # Every series contrib/grafana-parley.json plots is one the leader serves.
    with open(os.path.join(ROOT, "contrib", "grafana-parley.json")) as f:
        exprs = [t["expr"] for p in json.load(f)["panels"] for t in p["targets"]]
    plotted = {n for e in exprs for n in re.findall(r"parley_[a-z_]+", e)}
    text = scrape(lport)[1]
    served = {name for name, _ in parse(text)} | set(re.findall(r"^# TYPE (\S+)", text, re.M))
    served |= {n + "_bucket" for n in served}
    assert plotted and plotted <= served, plotted - served
    follower = cl.followers()[0]
    fport = ports[cl.nodes.index(follower)]
    assert scrape(fport, "/health")[0] == 200
    for n in cl.nodes:
        if n is not follower:
            n.kill()
    wait_until(lambda: scrape(fport, "/health")[0] == 503, 15,
               message="the lone follower's health to fail")


def test_behind_a_password_a_scrape_must_log_in(make_node):
    mport = free_port()
    node = make_node(extra=["--metrics-port", str(mport), "--requirepass", "sekret"]).start(wait=False)
    node.wait_listening(password="sekret")
    wait_until(lambda: scrape(mport, auth="default:sekret")[0] == 200, 15,
               message="a scrape with the password")
    assert scrape(mport)[0] == 401
    assert scrape(mport, auth="default:wrong")[0] == 401
    c = node.client(password="sekret")
    c.execute_command("ACL", "SETUSER", "prom", "on", ">p", "+info")
    c.execute_command("ACL", "SETUSER", "nosy", "on", ">n", "+get", "~*")
    assert scrape(mport, "/health", auth="prom:p")[0] == 200
    assert scrape(mport, auth="nosy:n")[0] == 401


def series_of(m, name):
    """{labels: value} of one metric's samples."""
    return {labels: v for (n, labels), v in m.items() if n == name}


def assert_histogram(m, name):
    """A well-formed histogram with observations; returns its count."""
    buckets = series_of(m, name + "_bucket")
    counts = [v for _, v in sorted(((float(re.search(r'le="([^"]+)"', k).group(1)), v)
                                    for k, v in buckets.items()))]
    assert counts == sorted(counts), f"{name}: buckets not cumulative"
    assert counts[-1] == m[(name + "_count", "")] > 0
    assert m[(name + "_sum", "")] > 0
    return counts[-1]


def test_raft_latency_histograms_reads_by_path_and_leader_changes(make_cluster):
    cl, ports = metrics_cluster(make_cluster)
    leader = cl.leader()
    lport = ports[cl.nodes.index(leader)]
    lc = leader.client()
    for i in range(20):
        lc.set(f"h:{i}", i)
    m = parse(scrape(lport)[1])
    committed = assert_histogram(m, "parley_raft_commit_seconds")
    written = assert_histogram(m, "parley_raft_log_write_seconds")
    for i in range(20):
        lc.set(f"h:{i}", i)
    m = parse(scrape(lport)[1])
    assert m[("parley_raft_commit_seconds_count", "")] > committed
    assert m[("parley_raft_log_write_seconds_count", "")] > written

    # Reads on the leader are served under its lease; a follower's go
    # through the log unless its client said READONLY.
    reads = series_of(m, "parley_reads_total")
    wait_until(lambda: lc.get("h:1") and
               series_of(parse(scrape(lport)[1]), "parley_reads_total")['{path="lease"}'] >
               reads['{path="lease"}'], 10, message="a lease read on the leader")
    follower = cl.followers()[0]
    fport = ports[cl.nodes.index(follower)]
    fc = follower.client()
    before = series_of(parse(scrape(fport)[1]), "parley_reads_total")
    assert fc.get("h:2") == "2"
    fc.execute_command("READONLY")
    fc.get("h:3")
    after = series_of(parse(scrape(fport)[1]), "parley_reads_total")
    assert after['{path="log"}'] == before['{path="log"}'] + 1
    assert after['{path="readonly"}'] == before['{path="readonly"}'] + 1
    assert after['{path="lease"}'] == before['{path="lease"}']

    # A new leader is a leader change on every node that sees it.
    changes = parse(scrape(fport)[1])[("parley_raft_leader_changes_total", "")]
    leader.kill()
    wait_until(lambda: parse(scrape(fport)[1])[("parley_raft_leader_changes_total", "")] > changes, 20,
               message="the follower to count the new leader")


def test_snapshot_durations(make_node):
    mport = free_port()
    node = make_node(extra=["--metrics-port", str(mport), "--raft-snapshot-threshold", "16",
                            "--raft-snapshot-trailing", "4"]).start()
    wait_writable(node)
    c = node.client()
    for i in range(60):
        c.set(f"s:{i}", "x" * 100)
    wait_until(lambda: parse(scrape(mport)[1])[("parley_raft_snapshots_taken_total", "")] >= 2, 20,
               message="two snapshots")
    m = parse(scrape(mport)[1])
    assert assert_histogram(m, "parley_raft_snapshot_seconds") == \
        m[("parley_raft_snapshots_taken_total", "")]
