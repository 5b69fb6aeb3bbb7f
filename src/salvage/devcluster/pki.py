"""Certificates and keys for one local cluster: a CA, the API server's serving cert, a
client cert the API server presents to kwok's kubelet endpoint, and the service-account
signing key pair."""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from salvage.devcluster.host import NODE_IP

_VALIDITY = dt.timedelta(days=3650)
_SERVICE_IP = "10.0.0.1"  # first address of the service range: the `kubernetes` Service


@dataclass(frozen=True)
class Pki:
    dir: Path

    @property
    def ca_cert(self) -> Path:
        return self.dir / "ca.crt"

    @property
    def server_cert(self) -> Path:
        return self.dir / "apiserver.crt"

    @property
    def server_key(self) -> Path:
        return self.dir / "apiserver.key"

    @property
    def kubelet_client_cert(self) -> Path:
        return self.dir / "kubelet-client.crt"

    @property
    def kubelet_client_key(self) -> Path:
        return self.dir / "kubelet-client.key"

    @property
    def sa_key(self) -> Path:
        return self.dir / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.dir / "sa.pub"

    def exists(self) -> bool:
        return all(p.exists() for p in (self.ca_cert, self.server_cert, self.kubelet_client_cert, self.sa_pub))


def create_pki(directory: Path, cluster_name: str) -> Pki:
    """Write a fresh CA and the certificates signed by it (idempotent: keeps existing ones)."""
    pki = Pki(directory)
    if pki.exists():
        return pki
    directory.mkdir(parents=True, exist_ok=True)
    now = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"salvage-{cluster_name}-ca")])
    ca_cert = (
        _builder(ca_name, ca_name, ca_key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write_cert(pki.ca_cert, ca_cert)
    _write_key(directory / "ca.key", ca_key)

    sans = [
        x509.DNSName("localhost"),
        x509.DNSName("kubernetes"),
        x509.DNSName("kubernetes.default"),
        x509.DNSName("kubernetes.default.svc"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address(_SERVICE_IP)),
        # The real node's bridge address, where pods reach the API server.
        x509.IPAddress(ipaddress.ip_address(NODE_IP)),
    ]
    _leaf(pki.server_cert, pki.server_key, "kube-apiserver", ca_cert, ca_key, now, sans, server=True)
    _leaf(
        pki.kubelet_client_cert, pki.kubelet_client_key, "kube-apiserver-kubelet-client",
        ca_cert, ca_key, now, [], server=False, org="system:masters",
    )
    sa_key = ec.generate_private_key(ec.SECP256R1())
    _write_key(pki.sa_key, sa_key)
    pki.sa_pub.write_bytes(
        sa_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return pki


def _builder(subject: x509.Name, issuer: x509.Name, public_key, now: dt.datetime) -> x509.CertificateBuilder:  # type: ignore[no-untyped-def]
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + _VALIDITY)
    )


def _leaf(cert_path: Path, key_path: Path, cn: str, ca_cert: x509.Certificate, ca_key, now: dt.datetime,  # type: ignore[no-untyped-def]
          sans: list[x509.GeneralName], *, server: bool, org: str | None = None) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    attrs = [x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if org:
        attrs.append(x509.NameAttribute(NameOID.ORGANIZATION_NAME, org))
    usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
    builder = (
        _builder(x509.Name(attrs), ca_cert.subject, key.public_key(), now)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    _write_cert(cert_path, builder.sign(ca_key, hashes.SHA256()))
    _write_key(key_path, key)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _write_key(path: Path, key) -> None:  # type: ignore[no-untyped-def]
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
