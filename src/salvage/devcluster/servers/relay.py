"""Let pods on the real node reach a test server that listens on loopback.

Pods reach this machine at the node's bridge address (``10.88.0.1``), never at 127.0.0.1,
and the test servers bind loopback only. A :class:`NodeRelay` listens on the bridge
address and copies each connection to the server's loopback port, so a location gets a
``pod_endpoint`` while the server itself stays on loopback and all traffic on this machine.
"""

from __future__ import annotations

import socket
import threading
from urllib.parse import urlsplit

from salvage.devcluster.host import NODE_IP

_CHUNK = 1 << 16


class NodeRelay:
    """TCP from ``NODE_IP:<free port>`` to ``127.0.0.1:<target>``, until :meth:`stop`."""

    def __init__(self, target_port: int, *, address: str = NODE_IP) -> None:
        self.target_port = target_port
        self._listener = socket.create_server((address, 0))
        self._listener.settimeout(0.5)
        self.address, self.port = self._listener.getsockname()[:2]
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._accept, name=f"relay-{self.port}", daemon=True)
        self._thread.start()

    @classmethod
    def for_endpoint(cls, endpoint: str) -> NodeRelay:
        port = urlsplit(endpoint).port
        if port is None:
            raise ValueError(f"{endpoint!r} has no port")
        return cls(port)

    def endpoint(self, scheme: str = "http") -> str:
        return f"{scheme}://{self.address}:{self.port}"

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=5)
        self._listener.close()

    def __enter__(self) -> NodeRelay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _accept(self) -> None:
        while not self._stopped.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            for source, sink in ((client, server), (server, client)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(_CHUNK):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for sock, how in ((sink, socket.SHUT_WR), (source, socket.SHUT_RD)):
            try:
                sock.shutdown(how)
            except OSError:
                pass
