"""Toxiproxy, built from its Go module: a TCP proxy whose faults are set over HTTP.

Tests put a proxy between Salvage and a server (a store, the API server) and add
"toxics" to it: latency, a bandwidth limit, a reset after some bytes, a connection that
goes silent. TLS passes through untouched (it is a TCP proxy), so a client reaching an
HTTPS server through it must use an address the server's certificate names (127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from salvage.devcluster.servers.install import server_binaries
from salvage.devcluster.servers.launch import Launched, Probe, launch
from salvage.model.errors import ServerError

# The toxic types toxiproxy knows, and the attributes each takes (see its README).
TOXIC_TYPES = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")


@dataclass(frozen=True)
class Proxy:
    """One proxy: clients connect to ``listen`` (host:port), it forwards to ``upstream``."""

    name: str
    listen: str
    upstream: str

    @property
    def port(self) -> int:
        return int(self.listen.rsplit(":", 1)[1])


@dataclass(frozen=True)
class ToxiproxyServer:
    api: str  # the HTTP API, http://127.0.0.1:PORT
    launched: Launched

    @property
    def log_path(self) -> Path:
        return self.launched.log_path

    def client(self) -> ToxiproxyClient:
        return ToxiproxyClient(self.api)

    def stop(self) -> None:
        self.launched.stop()


class ToxiproxyClient:
    """The few calls of toxiproxy's HTTP API that tests need."""

    def __init__(self, api: str) -> None:
        self.api = api

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = httpx.request(method, f"{self.api}{path}", json=body, timeout=10)
        if response.status_code >= 300:
            raise ServerError(
                f"toxiproxy refused {method} {path}: HTTP {response.status_code} {response.text.strip()[:200]}",
                hint="Check the proxy and toxic names and the toxic's attributes.",
            )
        return response.json() if response.content else None

    def create_proxy(self, name: str, upstream: str) -> Proxy:
        """A proxy on a free loopback port (toxiproxy picks it) forwarding to ``upstream``."""
        made = self._call("POST", "/proxies", {"name": name, "listen": "127.0.0.1:0", "upstream": upstream,
                                               "enabled": True})
        return Proxy(name=made["name"], listen=made["listen"], upstream=made["upstream"])

    def delete_proxy(self, name: str) -> None:
        self._call("DELETE", f"/proxies/{name}")

    def set_enabled(self, name: str, enabled: bool) -> None:
        """A disabled proxy closes its connections and refuses new ones (the server is down)."""
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def proxy_enabled(self, name: str) -> bool:
        return bool(self._call("GET", f"/proxies/{name}")["enabled"])

    def add_toxic(self, proxy: str, kind: str, *, name: str | None = None, stream: str = "downstream",
                  toxicity: float = 1.0, **attributes: int) -> str:
        """Add a toxic of type ``kind`` (one of TOXIC_TYPES); returns its name.

        ``stream`` is the direction it acts on: downstream is server → client (responses),
        upstream client → server (requests and uploads); ``toxicity`` the share of
        connections it applies to.
        """
        if kind not in TOXIC_TYPES:
            raise ValueError(f"unknown toxic type {kind!r}; expected one of {', '.join(TOXIC_TYPES)}")
        toxic = name or f"{kind}_{stream}"
        self._call("POST", f"/proxies/{proxy}/toxics", {
            "name": toxic, "type": kind, "stream": stream, "toxicity": toxicity, "attributes": attributes})
        return toxic

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{toxic}")

    def toxics(self, proxy: str) -> list[dict[str, Any]]:
        return list(self._call("GET", f"/proxies/{proxy}/toxics"))

    def reset(self) -> None:
        """Every proxy enabled again and every toxic removed."""
        self._call("POST", "/reset")

    @contextmanager
    def toxic(self, proxy: str, kind: str, *, stream: str = "downstream", toxicity: float = 1.0,
              **attributes: int) -> Iterator[str]:
        """A toxic for the duration of a ``with`` block."""
        toxic = self.add_toxic(proxy, kind, stream=stream, toxicity=toxicity, **attributes)
        try:
            yield toxic
        finally:
            self.remove_toxic(proxy, toxic)


def start_toxiproxy(workdir: Path) -> ToxiproxyServer:
    """Start toxiproxy's server on a free loopback port, its log under ``workdir``."""
    binary = server_binaries().toxiproxy
    if not binary.exists():
        raise ServerError(
            f"toxiproxy is not built ({binary} is missing).",
            hint="Run `salvage dev build --test-servers`, which builds and installs every test server.",
        )

    def command(ports: list[int]) -> list[str]:
        return [str(binary), "-host", "127.0.0.1", "-port", str(ports[0])]

    launched = launch("toxiproxy", command, Probe("/version", {200}), log_path=workdir / "toxiproxy.log")
    return ToxiproxyServer(api=f"http://127.0.0.1:{launched.port}", launched=launched)
