"""A redis-py client that shows replies exactly as the server sent them.

redis-py strips the "ERR " prefix from error replies and turns many replies
into Python values through response callbacks ("OK" into True, SCAN into a
tuple, ...). Tests that compare with what Redis 7.0 sends use this client
instead: no callbacks, and errors keep their whole text."""
import pytest
import redis
from redis.connection import PythonParser


class FullErrorParser(PythonParser):
    """Keeps an error reply's whole text, "ERR " included."""

    def parse_error(self, response):
        return redis.ResponseError(response)


def exact_client(node, decode=True, db=0):
    """node: anything with a `port` (a Node, conftest's redis_ref)."""
    pool = redis.ConnectionPool(host="127.0.0.1", port=node.port, db=db, decode_responses=decode,
                                socket_timeout=15, parser_class=FullErrorParser)
    client = redis.Redis(connection_pool=pool)
    client.response_callbacks.clear()
    return client


def err(client, *args):
    """The error text a command replies with (it must fail)."""
    with pytest.raises(redis.ResponseError) as e:
        client.execute_command(*args)
    return str(e.value)


def empty_pair(parley, redis_ref):
    """Exact clients (bytes) of a Parley node and of a redis-server, both
    flushed: for tests that send the same commands to each and compare."""
    ours = exact_client(parley, decode=False)
    theirs = exact_client(redis_ref, decode=False)
    ours.flushall()
    theirs.flushall()
    return ours, theirs
