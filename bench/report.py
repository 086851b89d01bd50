#!/usr/bin/python3
"""Turn the raw redis-benchmark CSVs of one bench/run.sh run into comparison
tables (standard library only).

  report.py OUT_DIR [--markdown FILE]

OUT_DIR holds results.tsv (one line per redis-benchmark invocation:
side, test, size, pipeline, requests, status, csv file, seconds) and meta.tsv
(key<TAB>value lines describing the machine and the flags). Prints plain-text
tables on stdout; with --markdown also writes them, with the machine
description, as a Markdown file.
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
    """{(side, test, size, pipeline): result-or-status-string}, plus the key
    order of first appearance."""
    results, order = {}, []
    with open(os.path.join(out_dir, "results.tsv")) as f:
        for line in f:
            line = line.rstrip("\n")
            if not line or line.startswith("#"):
                continue
            side, test, size, pipeline, _n, status, csv_file, _secs = line.split("\t")
            k = (test, int(size), int(pipeline))
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
    return results, order


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
    """Rows of one comparison table plus summary lines, or None when one of
    the two sides was not run."""
    if not any(k[0] == a for k in results) or not any(k[0] == b for k in results):
        return None
    rows, rps_ratios, p99_ratios = [], [], []
    for test, size, pipeline in order:
        ra, rb = results.get((a, test, size, pipeline)), results.get((b, test, size, pipeline))
        if ra is None and rb is None:
            continue
        name = next((r["name"] for r in (ra, rb) if isinstance(r, dict)), test.upper())
        row = [name, "%d B" % size, str(pipeline)]
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
        rows.append(row)
    summary = []
    g = geomean(rps_ratios)
    if g is not None:
        summary.append("geometric mean over %d rows: rps ratio %.2f, p99 ratio %.2f"
                       % (len(rps_ratios), g, geomean(p99_ratios) or float("nan")))
    failed = sum(1 for r in rows if r[5] == "-")
    if failed:
        summary.append("%d row(s) without a ratio: a side failed (see results.tsv and *.err)"
                       % failed)
    return rows, summary


def text_table(rows):
    table = [HEADER] + rows
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    left = {0}  # the test name is left-aligned, numbers right-aligned
    out = []
    for j, r in enumerate(table):
        cells = [c.ljust(widths[i]) if i in left else c.rjust(widths[i])
                 for i, c in enumerate(r)]
        # group: test/value/P | rps | p50 | p99
        out.append("  ".join(cells[:3]) + " | " + "  ".join(cells[3:6]) + " | "
                   + "  ".join(cells[6:9]) + " | " + "  ".join(cells[9:12]))
        if j == 0:
            out.append("-" * len(out[0]))
    return "\n".join(out)


def md_table(rows):
    out = ["| " + " | ".join(HEADER) + " |",
           "|" + "|".join([":---"] + ["---:"] * (len(HEADER) - 1)) + "|"]
    for r in rows:
        out.append("| " + " | ".join(r) + " |")
    return "\n".join(out)


def meta_get(meta, key, default=""):
    for k, v in meta:
        if k == key:
            return v
    return default


def meta_all(meta, key):
    return [v for k, v in meta if k == key]


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("--markdown", metavar="FILE")
    args = ap.parse_args()

    meta = read_meta(args.out_dir)
    results, order = read_results(args.out_dir)
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
               "Every side got the same redis-benchmark invocation, one per test:", "",
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
        with open(args.markdown, "w") as f:
            f.write("\n".join(md).rstrip("\n") + "\n")
        print()
        print("wrote %s" % args.markdown)
    return 0


if __name__ == "__main__":
    sys.exit(main())
