"""Run a command in a pod's container through the API server's ``exec`` subresource.

The API server speaks the Kubernetes channel protocol over a WebSocket
(``v5.channel.k8s.io``, falling back to ``v4.channel.k8s.io``): every binary message
starts with one byte naming its stream — 1 stdout, 2 stderr, 3 the final ``Status``
(JSON), 255 (v5 only) "close this stream". The command's exit code arrives in that
``Status``: ``Success``, or ``Failure`` with reason ``NonZeroExitCode`` and the code as a
cause. A runtime that fails without a code (kwok does) leaves ``exit_code`` unknown.

A timeout closes the WebSocket; whether the remote process is then killed is up to the
runtime, so hook commands should bound their own work too.
"""

from __future__ import annotations

import contextlib
import json
import queue
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from httpx_ws import HTTPXWSException, WebSocketDisconnect, WebSocketSession, WebSocketUpgradeError, connect_ws
from wsproto.events import BytesMessage

from salvage.k8s.client import KubeClient
from salvage.model.errors import KubernetesError

PROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"]
_STDOUT, _STDERR, _STATUS, _CLOSE = 1, 2, 3, 255
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
    if not command:
        raise KubernetesError(f"No command to run in pod {namespace}/{pod}.")
    query: list[tuple[str, str]] = [("command", part) for part in command]
    query += [("stdout", "true"), ("stderr", "true")]
    if container:
        query.append(("container", container))
    path = f"/api/v1/namespaces/{namespace}/pods/{pod}/exec?{urlencode(query)}"
    where = f"pod {namespace}/{pod}" + (f" container {container}" if container else "")
    try:
        ws: WebSocketSession
        with connect_ws(path, client.http, subprotocols=PROTOCOLS, keepalive_ping_interval_seconds=None) as ws:
            return _collect(ws, where, time.monotonic() + timeout, timeout)
    except WebSocketUpgradeError as exc:
        raise KubernetesError(f"Cannot exec in {where}: {_refusal(exc.response)}",
                              status=exc.response.status_code) from exc
    except (HTTPXWSException, httpx.HTTPError) as exc:
        raise KubernetesError(f"Exec in {where} failed: {exc}") from exc


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
