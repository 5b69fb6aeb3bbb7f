"""fake-gcs-server, built from its Go module, as the Google Cloud Storage test server."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from salvage.devcluster.servers.install import server_binaries
from salvage.devcluster.servers.launch import Launched, Probe, launch
from salvage.model.errors import ServerError

PROJECT = "salvage-test"


@dataclass(frozen=True)
class GCSServer:
    """A GCS endpoint that accepts any credentials.

    It speaks the JSON API (what Google's SDKs use) but not the XML API's object PUT
    (fsouza/fake-gcs-server#331), which is how obstore writes: obstore can list, read and
    delete here, but not write. Salvage's GCS store writes through the JSON API
    (salvage.storage.gcs), and tests create buckets with the google-cloud-storage SDK.
    """

    endpoint: str
    project: str
    data_dir: Path
    launched: Launched

    @property
    def credentials(self) -> dict[str, str]:
        """obstore's GCS config: any static token will do.

        Not ``skip_signature``: obstore 0.12 ignores it for GCS and asks the cloud
        metadata server (169.254.169.254) for a token, which must never happen in tests.
        """
        return {"bearer_token": "salvage-test"}

    @property
    def log_path(self) -> Path:
        return self.launched.log_path

    def stop(self) -> None:
        self.launched.stop()


def start_fake_gcs(workdir: Path) -> GCSServer:
    """Start fake-gcs-server with a filesystem backend and log under ``workdir``."""
    binary = server_binaries().fake_gcs_server
    if not binary.exists():
        raise ServerError(
            f"fake-gcs-server is not built ({binary} is missing).",
            hint="Run `salvage dev build --test-servers`, which builds and installs every test server.",
        )
    data_dir = workdir / "data"
    data_dir.mkdir()

    def command(ports: list[int]) -> list[str]:
        url = f"http://127.0.0.1:{ports[0]}"
        return [
            str(binary),
            "-scheme", "http",
            "-host", "127.0.0.1",
            "-port", str(ports[0]),
            "-backend", "filesystem",
            "-filesystem-root", str(data_dir),
            # The XML API's path-style requests are routed by Host: with no port here, any
            # port matches, so a client reaching the server through a proxy on another port
            # (tests/faults) is served too. Links the server hands out use -external-url.
            "-public-host", "127.0.0.1",
            "-external-url", url,
            "-log-level", "info",
        ]

    launched = launch(
        "fake-gcs-server", command, Probe("/storage/v1/b", {200}), log_path=workdir / "fake-gcs-server.log"
    )
    return GCSServer(
        endpoint=f"http://127.0.0.1:{launched.port}", project=PROJECT, data_dir=data_dir, launched=launched
    )
