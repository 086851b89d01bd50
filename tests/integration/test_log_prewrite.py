"""raft-log-prewrite (repl/segalloc.c): libraft's log segments have their
blocks written when they are prepared, so that the log's O_DIRECT|DSYNC
writes need no extent conversion and do not block; `no` leaves them
reserved only. Read with filefrag, which marks reserved-but-unwritten
extents "unwritten" (ext4 and XFS; skipped on file systems without them)."""
import glob
import os
import shutil
import subprocess

import pytest

from conftest import wait_until, wait_writable


def unwritten_segments(node):
    """Open segments of the node's log whose extents include unwritten ones."""
    found = []
    for path in glob.glob(os.path.join(node.dir, "**", "open-*"), recursive=True):
        out = subprocess.run(["filefrag", "-v", path], capture_output=True, text=True).stdout
        if "unwritten" in out:
            found.append(os.path.basename(path))
    return found


def open_segments(node):
    return glob.glob(os.path.join(node.dir, "**", "open-*"), recursive=True)


def reserves_unwritten(directory):
    """Whether this file system keeps fallocated blocks as unwritten extents."""
    path = os.path.join(directory, "fallocate-probe")
    with open(path, "wb") as f:
        os.posix_fallocate(f.fileno(), 0, 1 << 20)
    out = subprocess.run(["filefrag", "-v", path], capture_output=True, text=True).stdout
    os.unlink(path)
    return "unwritten" in out


@pytest.mark.skipif(shutil.which("filefrag") is None, reason="filefrag (e2fsprogs) not installed")
@pytest.mark.parametrize("prewrite", ["yes", "no"])
def test_log_segments_are_written_when_prepared(make_node, tmp_path, prewrite):
    if not reserves_unwritten(str(tmp_path)):
        pytest.skip("this file system has no unwritten extents")
    node = make_node(extra=["--raft-log-prewrite", prewrite]).start()
    wait_writable(node)
    c = node.client()
    for i in range(50):
        c.set(f"k{i}", "v" * 1000)
    wait_until(lambda: len(open_segments(node)) >= 2, 10, message="libraft to prepare its segments")
    if prewrite == "yes":
        assert unwritten_segments(node) == []
    else:
        assert unwritten_segments(node) != []
