#!/usr/bin/python3
"""Helpers for bench/run.sh (standard library only).

  tools.py ports N
      Print N distinct TCP ports that are free on 127.0.0.1 right now (all N
      sockets are held open together, so the ports differ from each other).

  tools.py preload --port P --keyspace R --size D [--batch B] [--deadline S]
      Write key:000000000000 .. key:<R-1> (the names redis-benchmark -r R
      uses for SET/GET/MSET) with D-byte values, B keys per MSET (B=1 sends
      SET), pipelined. Every reply must be +OK. Then GETs the first and last
      key back and checks the value length, so the GET benchmark hits.
      Gives up after S seconds in total.

  tools.py fill --port P --type list|zset|set --key K --count C [--size D]
                [--batch B] [--deadline S]
      Delete K, then give it exactly C elements, B per command, pipelined:
      a list of D-byte values (RPUSH), a sorted set of members fill:<i>
      scored i (ZADD), or a set of members fill:<i> (SADD). Checks the
      length (LLEN/ZCARD/SCARD) afterwards. Run before a pop benchmark
      (RPOP, LPOP, ZPOPMIN, SPOP) so that every pop finds an element.
"""
import argparse
import socket
import sys
import time


def cmd_ports(args):
    socks = []
    try:
        for _ in range(args.count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        for s in socks:
            print(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return 0


def encode(*parts):
    out = [b"*%d\r\n" % len(parts)]
    for p in parts:
        if isinstance(p, str):
            p = p.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(p), p))
    return b"".join(out)


class Conn:
    def __init__(self, host, port, deadline):
        self.deadline = deadline
        self.sock = socket.create_connection((host, port), timeout=self._left())
        self.rfile = self.sock.makefile("rb")

    def _left(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("preload deadline exceeded")
        return left

    def send(self, data):
        self.sock.settimeout(self._left())
        self.sock.sendall(data)

    def reply(self):
        """One RESP2 reply: str for status, bytes/None for bulk, int, or
        raises RuntimeError for an error reply."""
        self.sock.settimeout(self._left())
        line = self.rfile.readline()
        if not line.endswith(b"\r\n"):
            raise ConnectionError("connection closed by server")
        kind, body = line[:1], line[1:-2]
        if kind == b"+":
            return body.decode()
        if kind == b"-":
            raise RuntimeError(body.decode(errors="replace"))
        if kind == b":":
            return int(body)
        if kind == b"$":
            n = int(body)
            if n < 0:
                return None
            data = self.rfile.read(n + 2)
            if len(data) != n + 2:
                raise ConnectionError("connection closed by server")
            return data[:-2]
        raise RuntimeError("unexpected reply %r" % line[:80])


def key(i):
    return "key:%012d" % i


def cmd_preload(args):
    deadline = time.monotonic() + args.deadline
    value = b"x" * args.size
    conn = Conn(args.host, args.port, deadline)
    pending = 0
    sent = 0

    def expect_ok():
        r = conn.reply()
        if r != "OK":
            raise RuntimeError("expected +OK, got %r" % (r,))

    for start in range(0, args.keyspace, args.batch):
        stop = min(start + args.batch, args.keyspace)
        if args.batch == 1:
            conn.send(encode("SET", key(start), value))
        else:
            parts = ["MSET"]
            for i in range(start, stop):
                parts += [key(i), value]
            conn.send(encode(*parts))
        sent += 1
        pending += 1
        if pending >= args.window:
            expect_ok()
            pending -= 1
    while pending:
        expect_ok()
        pending -= 1
    for i in (0, args.keyspace - 1):
        conn.send(encode("GET", key(i)))
        got = conn.reply()
        if got is None or len(got) != args.size:
            raise RuntimeError("GET %s after preload returned %s"
                               % (key(i), "nil" if got is None else "%d bytes" % len(got)))
    print("preloaded %d keys x %d bytes in %d commands"
          % (args.keyspace, args.size, sent))
    return 0


FILL_TYPES = {
    # --type: the command adding a batch, the command counting, the elements of a batch
    "list": ("RPUSH", "LLEN", lambda start, stop, value: [value] * (stop - start)),
    "zset": ("ZADD", "ZCARD",
             lambda start, stop, value: [x for i in range(start, stop) for x in (str(i), "fill:%d" % i)]),
    "set": ("SADD", "SCARD", lambda start, stop, value: ["fill:%d" % i for i in range(start, stop)]),
}


def cmd_fill(args):
    deadline = time.monotonic() + args.deadline
    add, count, elements = FILL_TYPES[args.type]
    value = b"x" * args.size
    conn = Conn(args.host, args.port, deadline)
    conn.send(encode("DEL", args.key))
    conn.reply()
    pending = 0

    def expect_int():
        r = conn.reply()
        if not isinstance(r, int):
            raise RuntimeError("%s: expected an integer reply, got %r" % (add, r))

    for start in range(0, args.count, args.batch):
        stop = min(start + args.batch, args.count)
        conn.send(encode(add, args.key, *elements(start, stop, value)))
        pending += 1
        if pending >= args.window:
            expect_int()
            pending -= 1
    while pending:
        expect_int()
        pending -= 1
    conn.send(encode(count, args.key))
    got = conn.reply()
    if got != args.count:
        raise RuntimeError("%s %s after filling returned %r, expected %d"
                           % (count, args.key, got, args.count))
    print("filled %s %s with %d elements" % (args.type, args.key, args.count))
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("ports")
    p.add_argument("count", type=int)
    p.set_defaults(func=cmd_ports)
    p = sub.add_parser("preload")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--keyspace", type=int, required=True)
    p.add_argument("--size", type=int, required=True)
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--window", type=int, default=16,
                   help="commands in flight before reading a reply")
    p.add_argument("--deadline", type=float, default=180.0)
    p.set_defaults(func=cmd_preload)
    p = sub.add_parser("fill")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--type", choices=sorted(FILL_TYPES), required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--size", type=int, default=3, help="bytes per list value")
    p.add_argument("--batch", type=int, default=100)
    p.add_argument("--window", type=int, default=16,
                   help="commands in flight before reading a reply")
    p.add_argument("--deadline", type=float, default=180.0)
    p.set_defaults(func=cmd_fill)
    args = ap.parse_args()
    try:
        return args.func(args)
    except socket.timeout:
        print("tools.py %s: no reply from the server before the %g s deadline"
              % (args.cmd, getattr(args, "deadline", 0)), file=sys.stderr)
        return 1
    except (OSError, RuntimeError, ValueError) as e:
        print("tools.py %s: %s" % (args.cmd, e), file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
