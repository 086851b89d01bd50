"""A raw RESP2/RESP3 connection for tests that must see the exact bytes a
server sends: reply types redis-py 4.3 cannot show (RESP3 maps, nulls,
verbatim strings), protocol errors, and when the server closes.

RawConn.read() parses exactly one reply and remembers its bytes in
`last_raw`, so a test can assert both the value and its wire form. Values:

  +simple      Simple (a str)            -error   Err (a str)
  :int         int                       $bulk    bytes
  $-1 *-1 _    None                      *array   list
  %map         dict                      ~set     RSet (a list)
  =verbatim    Verbatim (bytes, .fmt)    ,double  float
  #bool        bool                      (bignum  int
  >push        Push (a list)
"""
import socket
import time

from conftest import resp_encode


class Simple(str):
    pass


class Err(str):
    pass


class RSet(list):
    pass


class Push(list):
    pass


class Verbatim(bytes):
    fmt = b""


class Incomplete(Exception):
    pass


class Closed(Exception):
    """The server closed the connection before a whole reply arrived."""


def _parse(buf, pos):
    """One reply at buf[pos:]; returns (value, next_pos) or raises Incomplete."""
    end = buf.find(b"\r\n", pos)
    if end < 0:
        raise Incomplete
    kind, line = buf[pos:pos + 1], buf[pos + 1:end]
    pos = end + 2
    if kind == b"+":
        return Simple(line.decode()), pos
    if kind == b"-":
        return Err(line.decode()), pos
    if kind in (b":", b"("):
        return int(line), pos
    if kind == b",":
        return float(line), pos
    if kind == b"#":
        return line == b"t", pos
    if kind == b"_":
        return None, pos
    if kind in (b"$", b"="):
        n = int(line)
        if n < 0:
            return None, pos
        if len(buf) < pos + n + 2:
            raise Incomplete
        data = buf[pos:pos + n]
        assert buf[pos + n:pos + n + 2] == b"\r\n", "bulk not followed by CRLF"
        if kind == b"=":
            v = Verbatim(data[4:])
            v.fmt = data[:3]
            assert data[3:4] == b":", "verbatim string without a format"
            return v, pos + n + 2
        return data, pos + n + 2
    if kind in (b"*", b"~", b">"):
        n = int(line)
        if n < 0:
            return None, pos
        items = []
        for _ in range(n):
            v, pos = _parse(buf, pos)
            items.append(v)
        return {b"*": list, b"~": RSet, b">": Push}[kind](items), pos
    if kind == b"%":
        n = int(line)
        d = {}
        for _ in range(n):
            k, pos = _parse(buf, pos)
            v, pos = _parse(buf, pos)
            d[k] = v
        return d, pos
    raise AssertionError(f"unknown reply type {kind!r} in {buf[pos - 20:pos + 20]!r}")


class RawConn:
    def __init__(self, port, timeout=10.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.last_raw = b""

    def send(self, data):
        self.sock.sendall(data)

    def call(self, *args):
        self.send(resp_encode(*args))
        return self.read()

    def _fill(self):
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise Closed(f"connection closed; unparsed bytes: {self.buf[:200]!r}")
        self.buf += chunk

    def read(self):
        while True:
            try:
                value, end = _parse(self.buf, 0)
            except Incomplete:
                self._fill()
                continue
            self.last_raw, self.buf = self.buf[:end], self.buf[end:]
            return value

    def read_raw(self):
        """The exact bytes of the next reply."""
        self.read()
        return self.last_raw

    def read_until_closed(self, timeout=10.0):
        """Everything the server still sends, until it closes the connection.
        Fails if it does not close within the timeout."""
        deadline = time.monotonic() + timeout
        data, self.buf = self.buf, b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"server did not close the connection; got {data[:300]!r}")
            self.sock.settimeout(left)
            try:
                chunk = self.sock.recv(1 << 20)
            except socket.timeout:
                continue
            except ConnectionResetError:
                return data
            if not chunk:
                return data
            data += chunk

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
