"""The HTTP plumbing of our own REST test servers (azure_compute.py): JSON in, JSON out,
optionally over TLS with a certificate made for loopback, in a thread of this process."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

JSON = dict[str, Any]


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: JSON


@dataclass
class Response:
    status: int
    body: JSON | None = None
    headers: dict[str, str] = field(default_factory=dict)


Answer = Callable[[Request, str], Response]  # (request, the server's base URL) -> response


def _handler(answer: Answer, base: Callable[[], str], log: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            url = urlsplit(self.path)
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError:
                body = {"_unparsable": raw.decode(errors="replace")}
            query = {k: v[-1] for k, v in parse_qs(url.query).items()}
            headers = {k.lower(): v for k, v in self.headers.items()}
            response = answer(Request(self.command, url.path, query, headers, body), base())
            data = b"" if response.body is None else json.dumps(response.body).encode()
            self.send_response(response.status)
            for name, value in response.headers.items():
                self.send_header(name, value)
            if response.body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_PUT = do_POST = do_PATCH = do_DELETE = _serve  # noqa: N815 (http.server's names)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            if log:
                print(f"{self.address_string()} {format % args}", flush=True)

    return Handler


def loopback_certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost (the file a client trusts) and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "salvage test server")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "server.crt", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def make_server(answer: Answer, port: int = 0, *, tls_dir: Path | None = None,
                log: bool = False) -> tuple[ThreadingHTTPServer, str, Path | None]:
    """The server, its base URL, and (with ``tls_dir``) the certificate a client must trust."""
    holder: dict[str, str] = {}
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(answer, lambda: holder["base"], log))
    server.daemon_threads = True
    cert = None
    if tls_dir is not None:
        cert, key = loopback_certificate(tls_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    holder["base"] = f"{'https' if cert else 'http'}://127.0.0.1:{server.server_address[1]}"
    return server, holder["base"], cert


@contextmanager
def serve_in_thread(answer: Answer, *, tls: bool = False, name: str = "test-server") -> Iterator[tuple[str, Path | None]]:
    """The server on a free loopback port in this process: yields its base URL and, with
    ``tls``, the certificate to trust."""
    with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
        server, base, cert = make_server(answer, tls_dir=Path(tmp) if tls else None)
        thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
        thread.start()
        try:
            yield base, cert
        finally:
            server.shutdown()
            server.server_close()
