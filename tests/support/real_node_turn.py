"""Test sessions on one machine take turns with its one real node.

A machine runs one real node at a time (its bridge, iptables chains and kubelet paths are
machine-wide), so two pytest sessions that both want a real-node cluster (parallel work in
several checkouts) would otherwise see the second one refused. Each waits for a file lock
instead, and while it holds the turn it builds the ``salvage`` image from the checkout
under test (an incremental build: only the app layer changes), so pods run this code.
"""

from __future__ import annotations

import fcntl
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from salvage.devcluster import host
from salvage.devcluster.local_cluster import LocalCluster, _node_owner_file
from salvage.devcluster.images import builders as images
from salvage.devcluster.paths import user_state_dir

# Long enough for another session's whole real-node run; a turn never waits forever.
TURN_TIMEOUT_S = float(os.environ.get("SALVAGE_TEST_REAL_NODE_WAIT", "3600"))


_held_here = False  # flock is per open file: a second turn in this process would wait on itself


@contextmanager
def real_node_turn(timeout: float = TURN_TIMEOUT_S) -> Iterator[None]:
    global _held_here
    if _held_here:
        raise RuntimeError("this test process already holds the real node: `real_cluster` is defined twice "
                           "(define it once, in tests/conftest.py)")
    path = user_state_dir() / "real-node-tests.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with Path(path).open("w") as handle:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"another test session held the real node for over {timeout:.0f} s "
                                       f"(lock {path})") from None
                time.sleep(1)  # polling a lock, bounded by the deadline above
        _held_here = True
        try:
            _remove_abandoned_session_cluster()
            images.build((images.by_name("salvage"),))
            yield
        finally:
            _held_here = False
            fcntl.flock(handle, fcntl.LOCK_UN)


def _remove_abandoned_session_cluster() -> None:
    """A session killed before its teardown (a timeout, Ctrl-C twice) leaves its cluster
    holding the real node. Test sessions name theirs ``real-<pid>``: one whose process is
    gone is taken down, so the next session is not refused."""
    owner = host.node_owner(_node_owner_file())
    match = re.fullmatch(r"real-(\d+)", owner or "")
    if match and not Path(f"/proc/{match.group(1)}").exists():
        LocalCluster(owner).down()
