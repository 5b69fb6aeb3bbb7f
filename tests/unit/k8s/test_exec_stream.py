"""The streaming exec (k8s/exec.py ExecStream) over a scripted WebSocket: stdout read like a
file, stderr kept, the exit status at the end, stdin framed on channel 0."""

from __future__ import annotations

import json
import queue
from typing import Any

import pytest
from httpx_ws import WebSocketDisconnect
from wsproto.events import BytesMessage

from salvage.k8s.exec import ExecStream, ExecTimeout

OK = json.dumps({"status": "Success"}).encode()
EXIT_3 = json.dumps({"status": "Failure", "reason": "NonZeroExitCode",
                     "details": {"causes": [{"reason": "ExitCode", "message": "3"}]}}).encode()


class ScriptedSocket:
    def __init__(self, *events: Any, subprotocol: str = "v5.channel.k8s.io") -> None:
        self.events, self.sent, self.subprotocol = list(events), [], subprotocol

    def receive(self, timeout: float) -> Any:
        if not self.events:
            raise queue.Empty
        event = self.events.pop(0)
        if isinstance(event, Exception):
            raise event
        return BytesMessage(event)

    def send_bytes(self, data: bytes) -> None:
        self.sent.append(data)


def test_stdout_streams_in_order_and_the_status_comes_last() -> None:
    ws = ScriptedSocket(b"\x01PGDMP", b"\x02a warning\n", b"\x01" + b"x" * 10, b"\x03" + EXIT_3)
    stream = ExecStream(ws, "pod ns/pg-0", idle_timeout=1)  # type: ignore[arg-type]
    buffer = bytearray(4)
    assert stream.readinto(buffer) == 4 and bytes(buffer) == b"PGDM"
    assert stream.read() == b"P" + b"x" * 10
    result = stream.wait()
    assert result.exit_code == 3 and result.stderr == "a warning\n"


def test_a_connection_that_ends_without_a_status_is_no_success() -> None:
    ws = ScriptedSocket(b"\x01half a dump", WebSocketDisconnect())
    stream = ExecStream(ws, "pod ns/pg-0", idle_timeout=1)  # type: ignore[arg-type]
    assert stream.read() == b"half a dump"
    result = stream.wait()
    assert not result.ok and result.exit_code is None and "without an exit status" in result.message


def test_silence_longer_than_the_idle_timeout_raises() -> None:
    stream = ExecStream(ScriptedSocket(), "pod ns/pg-0", idle_timeout=0.01)  # type: ignore[arg-type]
    with pytest.raises(ExecTimeout, match="sent nothing"):
        stream.read()


def test_stdin_is_framed_on_channel_0_and_closed_only_on_v5() -> None:
    ws = ScriptedSocket(b"\x03" + OK)
    stream = ExecStream(ws, "pod ns/pg-0", idle_timeout=1)  # type: ignore[arg-type]
    stream.write(b"secret\n")
    stream.close_stdin()
    assert ws.sent == [b"\x00secret\n", b"\xff\x00"]
    old = ScriptedSocket(subprotocol="v4.channel.k8s.io")
    ExecStream(old, "pod ns/pg-0", idle_timeout=1).close_stdin()  # type: ignore[arg-type]
    assert old.sent == []
    assert stream.wait().ok


def test_reading_ends_at_the_size_the_command_reported_without_waiting_for_its_exit() -> None:
    # The command said its size on stderr and now waits for us: no status comes until we answer.
    ws = ScriptedSocket(b"\x01abc", b"\x02size=5\n", b"\x01de")
    stream = ExecStream(ws, "pod ns/pg-0", idle_timeout=0.01)  # type: ignore[arg-type]
    stream.stdout_size = lambda stderr: 5 if "size=5" in stderr else None
    assert stream.read() == b"abcde", "no ExecTimeout: the read ended at the reported size"
