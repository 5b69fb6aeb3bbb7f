"""Run a command in a pod's container through the API server's ``exec`` subresource.

The API server speaks the Kubernetes channel protocol over a WebSocket
(``v5.channel.k8s.io``, falling back to ``v4.channel.k8s.io``): every binary message
starts with one byte naming its stream — 1 stdout, 2 stderr, 3 the final ``Status``
(JSON), 255 (v5 only) "close this stream". The command's exit code arrives in that
``Status``: ``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the code as a
cause. A runtime that fails without a code (kwok does) leaves ``exit_code`` unknown.

A timeout closes the WebSocket; whether the remote process is then killed is up to the
runtime, so hook commands should bound their own work too.

:func:`exec_in_pod` collects a short command's output; :func:`open_exec` streams a long one's
stdout (a file-like ``readinto``, so a dump goes straight into the repository) and writes its
stdin (channel 0). Closing stdin needs v5; a command fed on v4 must know where its input ends
(``head -c N``).
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from httpx_ws import HTTPXWSException, WebSocketDisconnect, WebSocketSession, WebSocketUpgradeError, connect_ws
from wsproto.events import BytesMessage

from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError

PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
_STDIN, _STDOUT, _STDERR, _STATUS, _CLOSE = 0, 1, 2, 3, 255
# Bytes per stdin message: the API server relays each as one write to the process.
_STDIN_MESSAGE = 256 * 1024
# How long to wait for the background reader to notice a shut-down socket.
_STOP_GRACE = 5.0


class ExecTimeout(KubernetesError):
    """The command did not finish within its timeout."""


@dataclass(frozen=True)
class ExecResult:
    exit_code: int | None
    stdout: str
    stderr: str
    # The runtime's failure message (empty on success).
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.message


def exec_in_pod(client: KubeClient, namespace: str, pod: str, command: list[str], *,
                container: str | None = None, timeout: float = 30.0) -> ExecResult:
    """Run ``command`` in ``pod``'s ``container`` (optional for a single-container pod) and wait for it."""
    with _connect(client, namespace, pod, command, container, stdin=False) as (ws, where):
        return _collect(ws, where, time.monotonic() + timeout, timeout)


@contextlib.contextmanager
def open_exec(client: KubeClient, namespace: str, pod: str, command: list[str], *, container: str | None = None,
              stdin: bool = False, idle_timeout: float = 120.0) -> Iterator[ExecStream]:
    """Start ``command`` in the pod and hand back its streams; leaving the block closes the
    connection (call :meth:`ExecStream.wait` first for the exit status).

    No heartbeat of our own: the API server's WebSocket (x/net) broke the connection on
    unsolicited pong frames from the client (measured on the real node), and it sends no
    pings, so a slow reader needs none."""
    with _connect(client, namespace, pod, command, container, stdin=stdin) as (ws, where):
        stream = ExecStream(ws, where, idle_timeout)
        try:
            yield stream
        finally:
            if not stream.reader_stopped:
                _stop_reader(ws)


@contextlib.contextmanager
def _connect(client: KubeClient, namespace: str, pod: str, command: list[str], container: str | None, *,
             stdin: bool) -> Iterator[tuple[WebSocketSession, str]]:
    if not command:
        raise KubernetesError(f"No command to run in pod {namespace}/{pod}.")
    query: list[tuple[str, str]] = [("command", part) for part in command]
    query += [("stdout", "true"), ("stderr", "true")]
    if stdin:
        query.append(("stdin", "true"))
    if container:
        query.append(("container", container))
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?{urlencode(query)}"
    where = f"pod {namespace}/{pod}" + (f" container {container}" if container else "")
    try:
        ws: WebSocketSession
        with connect_ws(path, client.http, subprotocols=PROTOCOLS, keepalive_ping_interval_seconds=None) as ws:
            yield ws, where
    except WebSocketUpgradeError as exc:
        raise KubernetesError(f"Cannot exec in {where}: {_refusal(exc.response)}",
                              status=exc.response.status_code) from exc
    except (HTTPXWSException, httpx.HTTPError) as exc:
        raise KubernetesError(f"Exec in {where} failed: {exc}") from exc


class ExecStream:
    """A running command: its stdout read like a file, its stdin written, stderr kept."""

    def __init__(self, ws: WebSocketSession, where: str, idle_timeout: float) -> None:
        self._ws, self.where, self.idle_timeout = ws, where, idle_timeout
        self._pending = b""
        self._offset = 0
        self._stdout_read = 0
        # The size of stdout once the command has said it on stderr (None: not said yet). A
        # command that then waits for our word before it exits loses nothing in flight: the
        # tail of a large backlog is lost when the process exits first (measured on the real
        # node), so :meth:`readinto` ends there instead of at the end of the stream.
        self.stdout_size: Callable[[str], int | None] | None = None
        self._stderr = bytearray()
        self.status: dict[str, Any] | None = None
        self.reader_stopped = False
        self.closed = False  # the connection ended (with or without a status)

    def write(self, data: bytes | memoryview) -> None:
        for start in range(0, len(data), _STDIN_MESSAGE):
            self._ws.send_bytes(bytes([_STDIN]) + bytes(data[start:start + _STDIN_MESSAGE]))

    def close_stdin(self) -> None:
        """Send end-of-file on stdin (v5 only; on v4 the command must stop reading by itself)."""
        if self._ws.subprotocol == PROTOCOLS[0]:
            self._ws.send_bytes(bytes([_CLOSE, _STDIN]))

    def readinto(self, buffer: memoryview | bytearray) -> int:
        """Fill ``buffer`` from stdout; 0 at its end (the command exited or the connection closed)."""
        while self._offset >= len(self._pending):
            if self.closed or self._said_all():
                return 0
            self._receive()
        size = min(len(buffer), len(self._pending) - self._offset)
        buffer[:size] = self._pending[self._offset:self._offset + size]
        self._offset += size
        self._stdout_read += size
        return size

    def _said_all(self) -> bool:
        expected = self.stdout_size(self.stderr) if self.stdout_size else None
        return expected is not None and self._stdout_read >= expected

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        buffer = bytearray(size)
        return bytes(buffer[:self.readinto(buffer)])

    @property
    def stderr(self) -> str:
        return self._stderr.decode(errors="replace")

    def wait(self) -> ExecResult:
        """Read to the end (stdout not yet read is dropped) and return the exit status."""
        while not self.closed:
            self._receive()
        self._pending, self._offset = b"", 0
        if self.status is None:
            return ExecResult(None, "", self.stderr, f"the connection to {self.where} closed without an exit status")
        code, message = exit_status(self.status)
        return ExecResult(code, "", self.stderr, message)

    def _receive(self) -> None:
        try:
            event = self._ws.receive(timeout=self.idle_timeout)
        except queue.Empty as exc:
            raise ExecTimeout(f"The command in {self.where} sent nothing for {self.idle_timeout:g}s.") from exc
        except WebSocketDisconnect:
            self.reader_stopped = self.closed = True
            return
        except HTTPXWSException:
            self.reader_stopped = self.closed = True
            raise
        if not isinstance(event, BytesMessage) or not event.data:
            return
        channel, payload = event.data[0], bytes(event.data[1:])
        if channel == _STDOUT:
            self._pending, self._offset = payload, 0
        elif channel == _STDERR:
            self._stderr += payload
        elif channel == _STATUS and payload:
            self.status = json.loads(payload)
            self.closed = True


def _collect(ws: WebSocketSession, where: str, deadline: float, timeout: float) -> ExecResult:
    out, err = bytearray(), bytearray()
    status: dict[str, Any] | None = None
    reader_stopped = False
    try:
        while status is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ExecTimeout(f"The command in {where} did not finish within {timeout:g}s.")
            try:
                event = ws.receive(timeout=remaining)
            except queue.Empty:
                continue
            except WebSocketDisconnect:
                reader_stopped = True
                break
            except HTTPXWSException:
                reader_stopped = True
                raise
            if not isinstance(event, BytesMessage) or not event.data:
                continue
            channel, payload = event.data[0], bytes(event.data[1:])
            if channel == _STDOUT:
                out += payload
            elif channel == _STDERR:
                err += payload
            elif channel == _STATUS and payload:
                status = json.loads(payload)
    finally:
        if not reader_stopped:
            _stop_reader(ws)
    stdout, stderr = out.decode(errors="replace"), err.decode(errors="replace")
    if status is None:
        return ExecResult(None, stdout, stderr, f"the connection to {where} closed without an exit status")
    code, message = exit_status(status)
    return ExecResult(code, stdout, stderr, message)


def _stop_reader(ws: WebSocketSession) -> None:
    """End httpx-ws's background read before its session closes the socket.

    Its close() closes the socket while a read may still be pending in a worker thread;
    OpenSSL then reads again from the closed socket's descriptor *number*, which the next
    connection of this process may already have, and corrupts it (seen as "SSL:
    WRONG_VERSION_NUMBER"). Shutting the socket down ends that read at once; the reader
    then reports the closed stream, and only then may the session close the socket.
    """
    sock = ws.stream.get_extra_info("socket")
    with contextlib.suppress(OSError, AttributeError):
        sock.shutdown(socket.SHUT_RDWR)
    deadline = time.monotonic() + _STOP_GRACE
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            ws.receive(timeout=remaining)
        except (HTTPXWSException, queue.Empty):
            return


def exit_status(status: dict[str, Any]) -> tuple[int | None, str]:
    """(exit code, failure message) from the ``Status`` the server sends on channel 3."""
    if status.get("status") == "Success":
        return 0, ""
    message = str(status.get("message") or "the command failed")
    if status.get("reason") == "NonZeroExitCode":
        for cause in (status.get("details") or {}).get("causes") or []:
            if cause.get("reason") == "ExitCode":
                try:
                    return int(cause.get("message")), ""
                except (TypeError, ValueError):
                    break
    return None, message


def _refusal(response: httpx.Response) -> str:
    try:
        return str(response.json().get("message") or response.text)
    except (ValueError, httpx.HTTPError, httpx.StreamError):
        return f"HTTP {response.status_code}"
