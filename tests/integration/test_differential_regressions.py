"""Differences from redis-server 7.0 that the differential fuzzer
(tests/fuzz/differential.py) found, each fixed, kept as the shrunk sequence
it printed: commands sent to one Parley node and the replies redis-server
7.0.15 gave, compared the way the fuzzer compares them (replay()). They need
no redis-server to run: its replies are written here."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fuzz"))

from differential import replay  # noqa: E402


def test_xtrim_checks_its_options_before_the_key(server):
    """XTRIM parses MAXLEN/MINID/LIMIT before it looks the key up: a bad
    option is an error for a missing key, one of another type, and inside
    MULTI (seeds 14, 69, 163, 186, 244)."""
    replay(server.port, resp=2, steps=[
        (0, ("XTRIM", "t1", "MINID", "(+", "LIMIT", "1"),
         b"-ERR Invalid stream ID specified as stream command argument\r\n"),
        (0, ("XTRIM", "x1", "MAXLEN", "-1"), b"-ERR The MAXLEN argument must be >= 0.\r\n"),
        (0, ("XTRIM", "x1", "MAXLEN", "abc", "2"), b"-ERR value is not an integer or out of range\r\n"),
        (0, ("SADD", "t1", "a"), b":1\r\n"),
        (0, ("XTRIM", "t1", "MAXLEN", "~", "-1"), b"-ERR The MAXLEN argument must be >= 0.\r\n"),
        (0, ("XTRIM", "t1", "MAXLEN", "1"),
         b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"),
        (0, ("MULTI",), b"+OK\r\n"),
        (0, ("XTRIM", "x2", "MINID", "abc"), b"+QUEUED\r\n"),
        (0, ("EXEC",), b"*1\r\n-ERR Invalid stream ID specified as stream command argument\r\n"),
    ])
