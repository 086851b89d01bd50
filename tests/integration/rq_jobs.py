"""Job functions for test_rq.py: the RQ worker imports them by name."""


def add(a, b):
    return a + b


def shout(text):
    return text.upper()


def fail(why):
    raise ValueError(why)
