"""Whether the server under test has the test hooks (src/cmds/testhooks.c:
PARLEY.TEST, compiled in with -DPARLEY_TEST_HOOKS, which the sanitizer
build defines). Tests that make a node misbehave on purpose run only there:
`make integration-san` runs them, the release run skips them."""
import pytest

from conftest import SERVER


def has_test_hooks():
    try:
        with open(SERVER, "rb") as f:
            return b"parley.test|crash-apply" in f.read()
    except OSError:
        return False


needs_test_hooks = pytest.mark.skipif(
    not has_test_hooks(),
    reason="needs a test build with PARLEY.TEST (-DPARLEY_TEST_HOOKS): run it with "
           "`make integration-san` (PARLEY_SERVER=build/san/parley-server)")
