"""Tests of the fault suite's checker on hand-made histories: correct ones
must pass and broken ones must be caught, so a clean chaos run means
something. Also replays every saved history in chaos/regressions/ (histories
that once showed an anomaly) to check the checker still judges them the same.
Run with /usr/bin/python3 -m pytest chaos/test_checker.py."""
import glob
import json
import os

import checker

HERE = os.path.dirname(os.path.abspath(__file__))


def op(f, t0, t1, v=None, out=None, st="ok", k="x", w="reg", p=0):
    return {"w": w, "p": p, "f": f, "k": k, "v": v, "out": out, "t0": t0,
            "t1": t1 if st == "ok" else None, "st": st}


def lin(*ops, **kw):
    return checker.linearizable(list(ops), **kw)[0]


# --- registers ---------------------------------------------------------------

def test_empty_and_sequential_histories_are_linearizable():
    assert lin() is True
    assert lin(op("write", 0, 1, v=1), op("read", 2, 3, out=1)) is True
    assert lin(op("read", 0, 1, out=None), op("write", 2, 3, v=7), op("read", 4, 5, out=7))


def test_read_of_a_value_never_written_is_caught():
    assert lin(op("read", 0, 1, out=3)) is False


def test_stale_read_after_a_completed_write_is_caught():
    assert lin(op("write", 0, 10, v=1), op("write", 20, 30, v=2),
               op("read", 40, 50, out=1)) is False


def test_read_concurrent_with_a_write_may_see_either_value():
    w = op("write", 0, 100, v=1)
    assert lin(w, op("read", 10, 20, out=None)) is True
    assert lin(w, op("read", 10, 20, out=1)) is True


def test_reads_must_not_go_back_in_time():
    w1, w2 = op("write", 0, 100, v=1, p=1), op("write", 0, 100, v=2, p=2)
    # Both orders are possible, but two later reads must agree on one.
    assert lin(w1, w2, op("read", 110, 120, out=2), op("read", 130, 140, out=2)) is True
    assert lin(w1, w2, op("read", 110, 120, out=2), op("read", 130, 140, out=1)) is False
    # Reads concurrent with the writes may see the order 1, 2 ...
    assert lin(w1, w2, op("read", 10, 20, out=1, p=3), op("read", 30, 40, out=2, p=3)) is True
    # ... but not 1, 2, 1.
    assert lin(w1, w2, op("read", 10, 20, out=1, p=3), op("read", 30, 40, out=2, p=3),
               op("read", 50, 60, out=1, p=3)) is False


def test_indeterminate_write_may_or_may_not_have_happened():
    w = op("write", 0, None, v=5, st="info")
    assert lin(op("write", 0, 1, v=1), w, op("read", 10, 20, out=5)) is True
    assert lin(op("write", 0, 1, v=1), w, op("read", 10, 20, out=1)) is True
    # Once seen, it happened: it cannot be undone later.
    assert lin(op("write", 0, 1, v=1), w, op("read", 10, 20, out=5),
               op("read", 30, 40, out=1)) is False


def test_failed_write_must_never_be_seen():
    assert lin(op("write", 0, 1, v=1), op("write", 2, None, v=5, st="fail"),
               op("read", 10, 20, out=5)) is False


def test_indeterminate_read_is_ignored():
    assert lin(op("write", 0, 1, v=1), op("read", 2, None, st="info")) is True


def test_incr_counts_once_per_acknowledgement():
    a, b = op("incr", 0, 10, out=1, p=1), op("incr", 0, 10, out=2, p=2)
    assert lin(a, b, op("read", 20, 30, out=2)) is True
    assert lin(op("incr", 0, 1, out=1), op("incr", 2, 3, out=1)) is False
    assert lin(a, b, op("read", 20, 30, out=1)) is False
    # An indeterminate INCR may have added one, or not.
    c = op("incr", 0, None, st="info")
    assert lin(op("write", 0, 1, v=10), c, op("read", 5, 6, out=11)) is True
    assert lin(op("write", 0, 1, v=10), c, op("read", 5, 6, out=10)) is True
    assert lin(op("write", 0, 1, v=10), c, op("read", 5, 6, out=12)) is False


def test_compare_and_set():
    w = op("write", 0, 1, v=1)
    assert lin(w, op("cas", 2, 3, v=[1, 2]), op("read", 4, 5, out=2)) is True
    # Two sequential successful CAS from the same value: one of them lied.
    assert lin(w, op("cas", 2, 3, v=[1, 2]), op("cas", 4, 5, v=[1, 3])) is False
    # A successful CAS needs the expected value at its linearization point.
    assert lin(op("write", 0, 1, v=9), op("cas", 2, 3, v=[1, 2])) is False
    # Indeterminate: either outcome.
    c = op("cas", 2, None, v=[1, 2], st="info")
    assert lin(w, c, op("read", 10, 11, out=1)) is True
    assert lin(w, c, op("read", 10, 11, out=2)) is True


def test_many_concurrent_indeterminate_writes_stay_tractable():
    ops = [op("write", i, None, v=i, st="info", p=i) for i in range(12)]
    ops += [op("read", 100 + 2 * i, 101 + 2 * i, out=v, p=99) for i, v in enumerate([3, 7, 11])]
    assert lin(*ops) is True
    ops.append(op("read", 200, 201, out=3, p=99))
    assert lin(*ops) is False


def test_budget_exhaustion_is_inconclusive_not_a_pass():
    ops = [op("write", 0, 100, v=i, p=i) for i in range(10)]
    ops.append(op("read", 200, 201, out=-1))
    assert checker.linearizable(ops, budget=50) == (None, None)


def test_check_registers_partitions_by_key():
    ops = [op("write", 0, 1, v=1, k="a"), op("read", 2, 3, out=1, k="a"),
           op("write", 0, 1, v=2, k="b"), op("read", 2, 3, out=1, k="b")]
    anomalies, inconclusive, keys = checker.check_registers(ops)
    assert keys == 2 and not inconclusive
    assert len(anomalies) == 1 and anomalies[0].startswith("register b:")


# --- list-append --------------------------------------------------------------

def app(v, t0, t1, out=None, st="ok", k="l"):
    return op("append", t0, t1, v=v, out=out, st=st, k=k, w="list")


def rd(values, t0, t1, k="l"):
    return op("read", t0, t1, out=list(values), k=k, w="list")


def good_list_history():
    return [app("a", 0, 10, out=1), app("b", 20, 30, out=2), rd(["a"], 12, 18),
            app("c", 25, None, st="info"), app("d", 40, 50, out=4), rd(["a", "b", "c"], 35, 45),
            app("e", 60, None, st="fail"), app("f", 60, None, st="info")]


def lists(history, final):
    return checker.check_lists(history, {"l": final})


def test_correct_list_history_passes():
    assert lists(good_list_history(), ["a", "b", "c", "d"]) == []


def test_lost_acknowledged_append_is_caught():
    assert any("lost" in a for a in lists(good_list_history(), ["a", "b", "c"]))


def test_duplicate_and_unknown_values_are_caught():
    assert any("twice" in a for a in lists(good_list_history(), ["a", "b", "c", "d", "d"]))
    assert any("never attempted" in a
               for a in lists(good_list_history(), ["a", "b", "c", "d", "zz"]))


def test_failed_append_must_not_appear():
    found = lists(good_list_history(), ["a", "b", "c", "d", "e"])
    assert any("not executed" in a for a in found)


def test_real_time_order_is_checked():
    h = [app("a", 0, 10, out=2), app("b", 20, 30, out=1)]
    assert any("acknowledged before" in a for a in lists(h, ["b", "a"]))
    # Concurrent appends may land in either order.
    h = [app("a", 0, 30, out=2), app("b", 10, 20, out=1)]
    assert lists(h, ["b", "a"]) == []


def test_rpush_reply_must_match_the_final_position():
    h = [app("a", 0, 10, out=1), app("b", 20, 30, out=1)]
    assert any("answered length" in a for a in lists(h, ["a", "b"]))


def test_stale_and_non_prefix_reads_are_caught():
    base = [app("a", 0, 10, out=1), app("b", 20, 30, out=2)]
    assert any("misses" in a for a in lists(base + [rd(["a"], 40, 50)], ["a", "b"]))
    assert any("not a prefix" in a for a in lists(base + [rd(["b"], 40, 50)], ["a", "b"]))
    # A later read shorter than an earlier completed one.
    h = [app("a", 0, 100, out=1, st="info"), rd(["a"], 10, 20), rd([], 30, 40)]
    assert any("already seen" in a for a in lists(h, ["a"]))


def test_value_read_before_its_append_was_invoked_is_caught():
    h = [rd(["a"], 0, 5), app("a", 10, 20, out=1)]
    assert any("before its RPUSH was invoked" in a for a in lists(h, ["a"]))


def test_missing_final_read_is_an_anomaly():
    assert checker.check_lists([app("a", 0, 10, out=1)], {}) != []


# --- bank ---------------------------------------------------------------------

def test_bank_total_invariant():
    good = op("read", 0, 1, out=[50, 150, 100], w="bank")
    bad = op("read", 2, 3, out=[50, 150, 90], w="bank")
    missing = op("read", 4, 5, out=[None, 150, 150], w="bank")
    assert checker.check_bank([good], 300) == []
    assert len(checker.check_bank([good, bad, missing], 300)) == 2


def test_check_history_combines_the_three():
    h = good_list_history() + [op("write", 0, 1, v=1), op("read", 2, 3, out=2),
                               op("read", 0, 1, out=[1, 2], w="bank")]
    result = checker.check_history(h, {"l": ["a", "b", "c", "d"]}, 3)
    assert len(result["anomalies"]) == 1 and result["anomalies"][0].startswith("register")


# --- saved histories ------------------------------------------------------------

def test_saved_histories_are_judged_as_recorded():
    for path in sorted(glob.glob(os.path.join(HERE, "regressions", "*.json"))):
        with open(path) as f:
            saved = json.load(f)
        result = checker.check_history(saved["history"], saved["final_lists"],
                                       saved["bank_total"])
        assert bool(result["anomalies"]) == saved["anomalous"], (path, result["anomalies"][:5])


# --- locks -------------------------------------------------------------------

def grant(t0, t1, token, owner="a", k="lock:0"):
    return op("acquire", t0, t1, v=owner, out=token, k=k, w="lock")


def release(t0, t1, token, answer, k="lock:0"):
    return op("release", t0, t1, v=token, out=answer, k=k, w="lock")


def test_growing_tokens_and_orderly_releases_pass():
    ops = [grant(0, 1, 10), release(2, 3, 10, 1), grant(4, 5, 20, "b"), release(6, 7, 20, 1),
           grant(8, 9, 30, "a", k="lock:1"), grant(10, 11, 30, "a", k="lock:1"),  # a renewal
           grant(12, 13, None, "b", k="lock:1")]  # refused: held
    assert checker.check_locks(ops) == []


def test_overlapping_grants_pass_when_they_overlap_in_time():
    # Invoked before the other completed: either order is possible.
    assert checker.check_locks([grant(0, 10, 20), grant(5, 15, 10, "b", k="lock:1")]) == []


def test_a_token_that_does_not_grow_is_caught():
    assert checker.check_locks([grant(0, 1, 20), grant(2, 3, 10, "b", k="lock:1")])
    assert checker.check_locks([grant(0, 1, 20), grant(2, 3, 20, "b", k="lock:1")])


def test_two_holders_at_once_are_caught():
    # b was granted (token 20) before a's release found a's token 10 still holding.
    assert checker.check_locks([grant(0, 1, 10), grant(2, 3, 20, "b"), release(4, 5, 10, 1)])
    # A release that found the lock gone (0) is no overlap.
    assert checker.check_locks([grant(0, 1, 10), grant(2, 3, 20, "b"), release(4, 5, 10, 0)]) == []
