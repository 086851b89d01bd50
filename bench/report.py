#!/usr/bin/python3
"""Turn the raw CSVs of one bench/run.sh run into comparison tables, and
add the memory scripts' tables (standard library only).

  report.py OUT_DIR [--markdown FILE]

OUT_DIR holds results.tsv (one line per test run: side, test, size,
pipeline, requests, status, csv file, seconds and a note on what was
checked; size or pipeline 0 means "does not apply"), meta.tsv (key<TAB>value
lines describing the machine and the flags) and, when the memory scripts ran,
memory.tsv and memory/<script>.txt, and the tables of OWN_BENCHES below
(reqrep-report.txt, secure-report.txt, own/<name>.txt). Every CSV is redis-benchmark --csv
output, or the same columns written by bench/blpop_latency.c,
bench/xreadgroup_consume.c or bench/xreadgroup_latency.c. Prints
plain-text tables on stdout; with --markdown also writes them, with the
machine description, as a Markdown file.
"""
import argparse
import csv
import math
import os
import sys

SIDES = {
    "single": "parley 1 node (durable)",
    "aof": "redis appendfsync always",
    "nopersist": "redis no persistence",
    "cluster": "parley 3-node cluster",
}
COMPARISONS = [
    ("single", "aof", "parley single durable node vs redis appendfsync always"),
    ("single", "nopersist", "parley single node vs redis no persistence"),
    ("cluster", "aof", "parley 3-node cluster vs redis appendfsync always"),
]
# Rows are grouped by what they exercise, in this order; tests not listed go
# to the first group.
GROUPS = [
    ("strings", {"set", "get", "incr", "mset", "ping_inline", "ping_mbulk"}),
    ("lists, hashes, sets, sorted sets",
     {"lpush", "rpush", "lpop", "rpop", "hset", "sadd", "spop", "zadd", "zpopmin",
      "lrange", "lrange_100", "lrange_300", "lrange_500", "lrange_600"}),
    ("bitmaps, HyperLogLog, GEO", {"setbit", "bitcount", "pfadd", "pfcount", "geoadd", "geosearch"}),
    ("messaging", {"blpop", "xadd", "xreadgroup", "xreadgroup_wake"}),  # and every publish<K>
]
TYPE_LABELS = {"setbit": "SETBIT (random key)", "bitcount": "BITCOUNT", "pfadd": "PFADD (random member)",
               "pfcount": "PFCOUNT", "geoadd": "GEOADD (random member)",
               "geosearch": "GEOSEARCH BYRADIUS COUNT 10"}
MESSAGING_NOTE = ("messaging: BLPOP woken by LPUSH: rps = messages delivered per second, "
                  "latency = from the LPUSH sent to the blocked client's reply read; "
                  "PUBLISH: the publisher's requests per second and reply latency; "
                  "XADD *: one entry per request; XREADGROUP COUNT 100 + XACK: rps = entries "
                  "read and acknowledged per second, latency = one read-and-ack round; "
                  "XREADGROUP woken by XADD: rps = entries delivered per second, latency = from "
                  "the XADD sent to the blocked consumer's reply read")


def group_of(test):
    if test.startswith("publish"):
        return len(GROUPS) - 1
    for i, (_, tests) in enumerate(GROUPS):
        if test in tests:
            return i
    return 0


def label(test, csv_name):
    """The row's name: redis-benchmark's own test name, except for tests
    whose CSV name is a whole command line."""
    if test.startswith("publish"):
        k = int(test[len("publish"):])
        return "PUBLISH, %d subscriber%s" % (k, "" if k == 1 else "s")
    if test == "xadd":
        return "XADD * (one field)"
    if test in TYPE_LABELS:
        return TYPE_LABELS[test]
    return csv_name


# Columns redis-benchmark 7.x writes with --csv.
CSV_COLUMNS = ["test", "rps", "avg_latency_ms", "min_latency_ms", "p50_latency_ms",
               "p95_latency_ms", "p99_latency_ms", "max_latency_ms"]


def read_meta(out_dir):
    meta = []
    path = os.path.join(out_dir, "meta.tsv")
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.rstrip("\n")
                if line:
                    k, _, v = line.partition("\t")
                    meta.append((k, v))
    return meta


def parse_csv(path):
    """The one data row of a redis-benchmark --csv output, as a dict of floats
    (plus 'name'), or raise ValueError."""
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if not rows or rows[0] != CSV_COLUMNS:
        raise ValueError("%s: unexpected CSV header %r (needs redis-benchmark 7.x)"
                         % (path, rows[0] if rows else None))
    if len(rows) != 2:
        raise ValueError("%s: expected one data row, found %d" % (path, len(rows) - 1))
    row = dict(zip(CSV_COLUMNS, rows[1]))
    out = {"name": row["test"]}
    for k in CSV_COLUMNS[1:]:
        out[k] = float(row[k])
    return out


def read_results(out_dir):
    """{(side, test, size, pipeline): result-or-status-string}, the keys in
    the order of the tables (by group, then first appearance), and
    {(side, test, size, pipeline): (status, note)} for the runs with a note."""
    results, order, notes = {}, [], {}
    with open(os.path.join(out_dir, "results.tsv")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            fields = line.split("\t")
            side, test, size, pipeline, _n, status, csv_file, _secs = fields[:8]
            k = (test, int(size), int(pipeline))
            if len(fields) > 8 and fields[8]:
                notes[(side,) + k] = (status, fields[8])
            if k not in order:
                order.append(k)
            if status == "ok":
                try:
                    results[(side,) + k] = parse_csv(os.path.join(out_dir, csv_file))
                except (OSError, ValueError) as e:
                    print("report.py: %s" % e, file=sys.stderr)
                    results[(side,) + k] = "parse-error"
            else:
                results[(side,) + k] = status
    order.sort(key=lambda k: group_of(k[0]))  # stable: first appearance within a group
    return results, order, notes


def fmt_rps(v):
    return "%.0f" % v


def fmt_ms(v):
    return "%.3f" % v


def fmt_ratio(a, b):
    return "%.2f" % (a / b) if b > 0 else "n/a"


def geomean(xs):
    xs = [x for x in xs if x > 0]
    if not xs:
        return None
    return math.exp(sum(math.log(x) for x in xs) / len(xs))


HEADER = ["test", "value", "-P", "parley rps", "redis rps", "rps ratio",
          "parley p50", "redis p50", "p50 ratio", "parley p99", "redis p99", "p99 ratio"]


def comparison(results, order, a, b):
    """Rows of one comparison table (a group title is a row of one cell),
    plus summary lines, or None when one of the two sides was not run."""
    if not any(k[0] == a for k in results) or not any(k[0] == b for k in results):
        return None
    rows, summary, group = [], [], None
    ratios = {}  # group -> ([rps ratios], [p99 ratios])
    failed = 0
    for test, size, pipeline in order:
        ra, rb = results.get((a, test, size, pipeline)), results.get((b, test, size, pipeline))
        if ra is None and rb is None:
            continue
        g = GROUPS[group_of(test)][0]
        if g != group:
            group = g
            rows.append([g])
            ratios[g] = ([], [])
        rps_ratios, p99_ratios = ratios[g]
        name = label(test, next((r["name"] for r in (ra, rb) if isinstance(r, dict)),
                                test.upper()))
        row = [name, "%d B" % size if size else "-", str(pipeline) if pipeline else "-"]
        if isinstance(ra, dict) and isinstance(rb, dict):
            row += [fmt_rps(ra["rps"]), fmt_rps(rb["rps"]), fmt_ratio(ra["rps"], rb["rps"]),
                    fmt_ms(ra["p50_latency_ms"]), fmt_ms(rb["p50_latency_ms"]),
                    fmt_ratio(ra["p50_latency_ms"], rb["p50_latency_ms"]),
                    fmt_ms(ra["p99_latency_ms"]), fmt_ms(rb["p99_latency_ms"]),
                    fmt_ratio(ra["p99_latency_ms"], rb["p99_latency_ms"])]
            if rb["rps"] > 0:
                rps_ratios.append(ra["rps"] / rb["rps"])
            if rb["p99_latency_ms"] > 0:
                p99_ratios.append(ra["p99_latency_ms"] / rb["p99_latency_ms"])
        else:
            def cells(r):
                if isinstance(r, dict):
                    return fmt_rps(r["rps"]), fmt_ms(r["p50_latency_ms"]), fmt_ms(r["p99_latency_ms"])
                s = (r or "missing").upper()
                return s, s, s
            ca, cb = cells(ra), cells(rb)
            row += [ca[0], cb[0], "-", ca[1], cb[1], "-", ca[2], cb[2], "-"]
            failed += 1
        rows.append(row)
    for g, (rps_ratios, p99_ratios) in ratios.items():
        m = geomean(rps_ratios)
        if m is not None:
            summary.append("%s: geometric mean over %d row(s): rps ratio %.2f, p99 ratio %.2f"
                           % (g, len(rps_ratios), m, geomean(p99_ratios) or float("nan")))
    if "messaging" in ratios:
        summary.append(MESSAGING_NOTE)
    if failed:
        summary.append("%d row(s) without a ratio: a side failed (see results.tsv and *.err)"
                       % failed)
    return rows, summary


def text_table(rows):
    table = [HEADER] + [r for r in rows if len(r) > 1]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    left = {0}  # the test name is left-aligned, numbers right-aligned
    out = []
    for j, r in enumerate([HEADER] + rows):
        if len(r) == 1:  # a group title
            out.append("· " + r[0])
            continue
        cells = [c.ljust(widths[i]) if i in left else c.rjust(widths[i])
                 for i, c in enumerate(r)]
        # group: test/value/P | rps | p50 | p99
        out.append("  ".join(cells[:3]) + " | " + "  ".join(cells[3:6]) + " | "
                   + "  ".join(cells[6:9]) + " | " + "  ".join(cells[9:12]))
        if j == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def checks(notes):
    """Lines saying what the delivery checks found: how many passed, and
    every failure."""
    passed, failures = {}, []
    for (side, test, size, pipeline), (status, note) in notes.items():
        kind = ("pops found an element" if test in ("rpop", "lpop", "zpopmin", "spop")
                else "every message reached every subscriber" if test.startswith("publish")
                else "BLPOP delivered every message once, in order" if test == "blpop"
                else "XADD: XLEN counted every entry" if test == "xadd"
                else "XREADGROUP + XACK read every entry once, nothing left pending"
                if test == "xreadgroup"
                else "XREADGROUP woken by XADD got every entry once, in order"
                if test == "xreadgroup_wake"
                else test)
        if status == "ok":
            passed[kind] = passed.get(kind, 0) + 1
        else:
            failures.append("%s %s -d %s -P %s: %s (%s)"
                            % (side, test, size or "-", pipeline or "-", status.upper(), note))
    lines = ["%s: passed in %d run(s)" % (k, n) for k, n in sorted(passed.items())]
    return lines + ["FAILED %s" % f for f in failures]


def read_memory(out_dir):
    """[(script, status, seconds, arguments, table text)] in run order."""
    path = os.path.join(out_dir, "memory.tsv")
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            script, status, secs, arguments = (line.split("\t") + [""])[:4]
            text = ""
            txt = os.path.join(out_dir, "memory", script.replace(".py", ".txt"))
            if os.path.exists(txt):
                with open(txt) as t:
                    text = t.read().rstrip("\n")
            out.append((script, status, secs, arguments, text))
    return out


# Tables that scripts other than redis-benchmark wrote, in the order they
# are reported: (file under OUT_DIR, title, what it measures).
OWN_BENCHES = [
    ("reqrep-report.txt", "Request/reply round trips",
     "`bench/reqrep.sh`: the pattern of `examples/request_reply` (caller LPUSH, server BLMOVE "
     "and MULTI/EXEC, caller BLPOP) on the servers above after their tests, see the README."),
    ("secure-report.txt", "TLS and password",
     "`bench/secure.sh`: redis-benchmark in clear, over TLS and with a password, on parley "
     "and on redis-server (appendfsync always)."),
    ("own/expiry.txt", "Expiry",
     "`bench/expiry.py`: keys set with `PX 1000` on a durable parley node and on redis-server; "
     "how long until all are reclaimed, and the slowest PING meanwhile."),
    ("own/bullmq.txt", "BullMQ throughput",
     "`bench/bullmq.py`: jobs added in bulk and run by a BullMQ Worker (Node.js, ioredis), on a "
     "durable parley node and on redis-server (appendfsync always); jobs per second."),
    ("own/snapshot_stall.txt", "Event-loop stall while snapshotting",
     "`bench/snapshot_stall.py`: the longest event-loop stall (`LATENCY LATEST`) while a node "
     "holding the keys snapshots under write load, next to redis-server's BGSAVE."),
    ("own/sustained.txt", "Memory, disk and restart after sustained 1 KB writes",
     "`bench/sustained.py`: used memory, RSS, data directory size and restart time after "
     "sustained SETs of 1 KB, parley's durable node next to redis-server appendfsync always."),
]


def read_own(out_dir):
    """[(title, description, text)] for the OWN_BENCHES that wrote a table."""
    out = []
    for name, title, what in OWN_BENCHES:
        path = os.path.join(out_dir, name)
        if os.path.exists(path):
            with open(path) as f:
                text = f.read().strip("\n")
            if text:
                out.append((title, what, text))
    return out


def md_table(rows):
    out = ["| " + " | ".join(HEADER) + " |",
           "|" + "|".join([":---"] + ["---:"] * (len(HEADER) - 1)) + "|"]
    for r in rows:
        if len(r) == 1:  # a group title
            r = ["**%s**" % r[0]] + [""] * (len(HEADER) - 1)
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def meta_get(meta, key, default=""):
    for k, v in meta:
        if k == key:
            return v
    return default


def meta_all(meta, key):
    return [v for k, v in meta if k == key]


# Sections of RESULTS.md that other scripts write (bench/etcd.py
# --write-results): carried over unchanged when run.sh rewrites the file.
KEPT_SECTIONS = ("## Parley vs etcd",)


def kept_sections(path):
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out, keep = [], False
    for line in lines:
        if line.startswith("## "):
            keep = line.strip() in KEPT_SECTIONS
        if keep:
            out.append(line)
    return out + [""] if out else []


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--markdown", metavar="FILE")
    args = ap.parse_args()

    meta = read_meta(args.out_dir)
    results, order, notes = read_results(args.out_dir)
    memory = read_memory(args.out_dir)
    check_lines = checks(notes)
    dry = meta_get(meta, "dry_run") == "1"
    nproc = meta_get(meta, "nproc", "?")

    tables = []
    for a, b, title in COMPARISONS:
        c = comparison(results, order, a, b)
        if c is not None:
            tables.append((title, a, b) + c)

    # Plain text on stdout.
    print()
    if dry:
        print("*** DRY RUN: every 'parley' side below is played by redis-server "
              "(see bench/README.md); the ratios say nothing about parley. ***")
    print("Client (redis-benchmark) and all servers share the same %s CPU core(s); "
          "latencies in ms; ratio = parley / redis "
          "(rps ratio > 1: parley faster; latency ratio < 1: parley faster)." % nproc)
    for title, a, b, rows, summary in tables:
        print()
        print("== %s ==" % title)
        print("   parley = %s, redis = %s" % (SIDES[a], SIDES[b]))
        print(text_table(rows))
        for s in summary:
            print("   " + s)
    if not tables:
        print("no comparison has both of its sides in this run")
    if check_lines:
        print()
        print("== delivery checks (both sides of every table) ==")
        for c in check_lines:
            print("   " + c)
    own = read_own(args.out_dir)
    for title, _, text in own:
        print()
        print("== %s ==" % title)
        print("\n".join("   " + line for line in text.splitlines()))
    if memory:
        print()
        print("== memory: bytes per element, parley next to redis-server ==")
        print("   (each script starts its own durable parley node and redis-server without "
              "persistence; INFO used_memory growth / elements)")
        for script, status, secs, arguments, text in memory:
            print()
            print("-- bench/%s %s (%s, %s s)" % (script, arguments, status, secs))
            print("\n".join("   " + line for line in text.splitlines()) or "   (no output)")

    if args.markdown:
        md = ["# Parley benchmark results", ""]
        if dry:
            md += ["> **DRY RUN**: every \"parley\" side was played by redis-server "
                   "(`bench/run.sh --dry-run-with-redis`). These numbers only prove "
                   "the harness; they say nothing about parley.", ""]
        md += ["Generated by `bench/run.sh --write-results` on %s. See "
               "[README.md](README.md) for what is measured and how to read the ratios."
               % meta_get(meta, "date"), "",
               "## Machine", "",
               "- CPUs: %s (`nproc`) — **redis-benchmark and every server process share "
               "these cores**, so client CPU is taken from the servers" % nproc,
               "- CPU model: %s" % meta_get(meta, "cpu_model"),
               "- Kernel: %s" % meta_get(meta, "kernel"),
               "- Data directory: `%s`" % meta_get(meta, "data_dir"),
               "- Filesystem: %s" % meta_get(meta, "filesystem"),
               "- Block device: %s" % meta_get(meta, "block_device"),
               "- redis-server: %s" % meta_get(meta, "redis_version"),
               "- redis-benchmark: %s" % meta_get(meta, "redis_benchmark_version"),
               "- parley: %s" % meta_get(meta, "parley"),
               "- Total run time: %s s" % meta_get(meta, "elapsed_s"),
               "",
               "## Flags", "",
               "Every side got the same invocations, one per test (redis-benchmark, and "
               "the benchmark's own clients for blpop and publish):", "",
               "```",
               meta_get(meta, "benchmark_cmd"),
               "```", ""]
        for v in meta_all(meta, "benchmark_note"):
            md.append("- " + v)
        md += ["", "Servers (ports and directories are per run):", "", "```"]
        md += meta_all(meta, "server_cmd")
        md += ["```", ""]
        notes = meta_all(meta, "note")
        if notes:
            md += ["## Notes", ""] + ["- " + n for n in notes] + [""]
        md += ["## Results", "",
               "Latencies in ms. Ratio = parley / redis: an rps ratio above 1 means parley "
               "served more requests per second; a latency ratio below 1 means parley "
               "answered faster.", ""]
        for title, a, b, rows, summary in tables:
            md += ["### %s" % title, "",
                   "parley = %s; redis = %s." % (SIDES[a], SIDES[b]), "",
                   md_table(rows), ""]
            md += [line[0].upper() + line[1:] + "." for line in summary]
            md.append("")
        if check_lines:
            md += ["### Delivery checks", ""] + ["- " + c for c in check_lines] + [""]
        for title, what, text in own:
            md += ["## %s" % title, "", what, "", "```", text, "```", ""]
        if memory:
            md += ["## Memory per element", "",
                   "Each script starts its own durable parley node and redis-server without "
                   "persistence and reports INFO `used_memory` growth divided by the elements "
                   "loaded (see the scripts' headers for the workloads).", ""]
            for script, status, secs, arguments, text in memory:
                md += ["`bench/%s %s` (%s, %s s):" % (script, arguments, status, secs), "",
                       "```", text or "(no output)", "```", ""]
        md += kept_sections(args.markdown)
        with open(args.markdown, "w") as f:
            f.write("\n".join(md).rstrip("\n") + "\n")
        print()
        print("wrote %s" % args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
