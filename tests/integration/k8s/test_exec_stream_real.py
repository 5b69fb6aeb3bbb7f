"""The streaming exec (k8s/exec.py open_exec) on the real node: a reader far slower than the
command still gets every byte of stdout, the end of stderr, and the exit status."""

from __future__ import annotations

import time

import pytest

from salvage.k8s.client import KubeClient
from salvage.k8s.exec import open_exec
from tests.support.builders import real_pod
from tests.support.waiting import pod_ready

pytestmark = pytest.mark.integration

SIZE = 60_000_000
RATE = 15e6  # bytes/s the reader takes: the command is done long before the reader


def test_a_slow_reader_gets_every_byte_and_the_status(real_kube: KubeClient, real_ns: str) -> None:
    real_kube.create(f"/api/v1/namespaces/{real_ns}/pods", real_pod("box", "sleep 3600"))
    pod_ready(real_kube, real_ns, "box")
    got, started = 0, time.monotonic()
    with open_exec(real_kube, real_ns, "box", ["sh", "-c", f"read -r line; head -c {SIZE} /dev/zero; "
                                                           'echo "END $line" >&2; exit 3'], stdin=True) as stream:
        stream.write(b"secret\n")
        buffer = bytearray(1 << 20)
        while n := stream.readinto(memoryview(buffer)):
            got += n
            time.sleep(max(0.0, got / RATE - (time.monotonic() - started)))
        result = stream.wait()
    assert (got, result.stderr, result.exit_code) == (SIZE, "END secret\n", 3)
