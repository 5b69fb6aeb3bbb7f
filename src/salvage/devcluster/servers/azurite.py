"""Azurite (from npm) as the Azure Blob test server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from salvage.devcluster.servers.install import server_binaries
from salvage.devcluster.servers.launch import Launched, Probe, launch
from salvage.model.errors import ServerError

# Azurite's built-in development account; the key is public (Microsoft documents it).
ACCOUNT_NAME = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


@dataclass(frozen=True)
class AzureServer:
    """A Blob endpoint in path style: ``http://127.0.0.1:PORT/<account>``."""

    endpoint: str
    account_name: str
    account_key: str
    data_dir: Path
    launched: Launched

    @property
    def credentials(self) -> dict[str, str]:
        """Credentials under obstore's Azure config keys."""
        return {"account_name": self.account_name, "account_key": self.account_key}

    @property
    def connection_string(self) -> str:
        """For the Azure SDKs, which take one string."""
        return (
            f"DefaultEndpointsProtocol=http;AccountName={self.account_name};"
            f"AccountKey={self.account_key};BlobEndpoint={self.endpoint};"
        )

    @property
    def log_path(self) -> Path:
        return self.launched.log_path

    def stop(self) -> None:
        self.launched.stop()


def start_azurite(workdir: Path) -> AzureServer:
    """Start azurite-blob with its workspace and log under ``workdir`` (which must exist)."""
    binary = server_binaries().azurite_blob
    if not binary.exists():
        raise ServerError(
            f"Azurite is not installed ({binary} is missing).",
            hint="Run `salvage dev build --test-servers`, which builds and installs every test server.",
        )
    data_dir = workdir / "data"
    data_dir.mkdir()

    def command(ports: list[int]) -> list[str]:
        return [
            str(binary),
            "--blobHost", "127.0.0.1",
            "--blobPort", str(ports[0]),
            "--location", str(data_dir),
            # Our SDKs may speak a newer API version than this Azurite knows; the calls we
            # make are old ones, so let them through rather than pinning SDK versions.
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ]

    # Azurite answers 400 to a bare GET /: an HTTP answer is all readiness needs.
    launched = launch("Azurite", command, Probe("/"), log_path=workdir / "azurite.log")
    return AzureServer(
        endpoint=f"http://127.0.0.1:{launched.port}/{ACCOUNT_NAME}",
        account_name=ACCOUNT_NAME,
        account_key=ACCOUNT_KEY,
        data_dir=data_dir,
        launched=launched,
    )
