"""Job functions for test_rq.py: the RQ worker imports them by name."""


def add(a, b):
    return a + b


def shout(text):
    return text.upper()


def fail(why):
    raise ValueError(why)


def add_slowly(a, b):
    """Takes a little while, so that a test can kill a node mid-run."""
    import time
    time.sleep(0.02)
    return a + b
