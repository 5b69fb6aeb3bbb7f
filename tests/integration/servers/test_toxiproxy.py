"""Toxiproxy as built here: a proxy on a free port forwards bytes, and each toxic does what
the fault suite relies on (latency, a cut after N bytes, a reset, a proxy that is down)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import pytest

from salvage.devcluster.servers import Proxy, ToxiproxyClient
from salvage.model.errors import ServerError

pytestmark = pytest.mark.integration


@pytest.fixture
def echo(toxiproxy: ToxiproxyClient) -> Iterator[Proxy]:
    """A proxy in front of a server that answers each connection with its first read, thrice."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                conn.sendall(conn.recv(64) * 3)

    threading.Thread(target=serve, daemon=True).start()
    proxy = toxiproxy.create_proxy("echo", f"127.0.0.1:{server.getsockname()[1]}")
    yield proxy
    toxiproxy.delete_proxy("echo")
    server.close()


def call(proxy: Proxy) -> tuple[bytes | str, float]:
    started = time.monotonic()
    try:
        with socket.create_connection(("127.0.0.1", proxy.port), timeout=5) as conn:
            conn.sendall(b"hi")
            got = b""
            while chunk := conn.recv(64):
                got += chunk
    except OSError as exc:
        return type(exc).__name__, time.monotonic() - started
    return got, time.monotonic() - started


def test_toxics_do_what_the_fault_suite_relies_on(toxiproxy: ToxiproxyClient, echo: Proxy) -> None:
    assert echo.listen.startswith("127.0.0.1:") and echo.port > 0
    assert call(echo)[0] == b"hihihi"
    with toxiproxy.toxic("echo", "latency", latency=400):
        got, seconds = call(echo)
        assert got == b"hihihi" and seconds >= 0.4
    with toxiproxy.toxic("echo", "limit_data", bytes=3):
        assert call(echo)[0] == b"hih"
    with toxiproxy.toxic("echo", "reset_peer", timeout=0):
        assert call(echo)[0] == "ConnectionResetError"
    toxiproxy.set_enabled("echo", False)
    assert call(echo)[0] == "ConnectionRefusedError"
    toxiproxy.set_enabled("echo", True)
    assert call(echo)[0] == b"hihihi" and toxiproxy.toxics("echo") == []


def test_a_bad_toxic_is_refused_with_the_reason(toxiproxy: ToxiproxyClient, echo: Proxy) -> None:
    with pytest.raises(ValueError, match="unknown toxic type 'lag'"):
        toxiproxy.add_toxic("echo", "lag")
    with pytest.raises(ServerError, match="toxiproxy refused POST /proxies/nope/toxics: HTTP 404"):
        toxiproxy.add_toxic("nope", "latency", latency=1)
