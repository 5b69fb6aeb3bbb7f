"""Fixtures for fault runs: toxiproxy between Salvage and MinIO, and between Salvage and the
kwok cluster's API server, and a namespace with a few objects and an ``fs``-capable volume.

Every run's commands go through the proxies (a location whose endpoint is the MinIO proxy,
a kubeconfig whose server is the API server proxy); the checker reads both directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.servers import Proxy, ToxiproxyClient
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.faults.cases import STORES
from tests.faults.checker import PASSWORD, Checker
from tests.faults.runner import salvage
from tests.integration.engines import workload


@pytest.fixture(scope="session")
def minio_proxy(toxiproxy: ToxiproxyClient, s3_server: Any) -> Proxy:
    return toxiproxy.create_proxy("minio", urlsplit(s3_server.endpoint).netloc)


@pytest.fixture(scope="session")
def azurite_proxy(toxiproxy: ToxiproxyClient, azure_server: Any) -> Proxy:
    return toxiproxy.create_proxy("azurite", urlsplit(azure_server.endpoint).netloc)


@pytest.fixture(scope="session")
def gcs_proxy(toxiproxy: ToxiproxyClient, gcs_server: Any) -> Proxy:
    return toxiproxy.create_proxy("gcs", urlsplit(gcs_server.endpoint).netloc)


@pytest.fixture(scope="session")
def api_proxy(toxiproxy: ToxiproxyClient, cluster: LocalCluster) -> Proxy:
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    return toxiproxy.create_proxy("apiserver", urlsplit(config["clusters"][0]["cluster"]["server"]).netloc)


@pytest.fixture(scope="session")
def proxied_kubeconfig(cluster: LocalCluster, api_proxy: Proxy, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The cluster's kubeconfig with the proxy as its server: 127.0.0.1, which the API
    server's certificate names, so TLS passes through the proxy and still verifies."""
    config = yaml.safe_load(cluster.kubeconfig.read_text())
    for entry in config["clusters"]:
        entry["cluster"]["server"] = f"https://{api_proxy.listen}"
    path = tmp_path_factory.mktemp("proxied") / "kubeconfig"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture(autouse=True)
def _no_toxics_left(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts and ends with every proxy enabled and no toxic."""
    proxy = request.getfixturevalue("toxiproxy") if "toxiproxy" in request.fixturenames else None
    if proxy:
        proxy.reset()
    yield
    if proxy:
        proxy.reset()


@pytest.fixture
def store(request: pytest.FixtureRequest) -> str:
    """The store a test's locations are on: its fault's, when that is a store fault; else MinIO."""
    fault = getattr(request.node, "callspec", None) and request.node.callspec.params.get("fault")
    return fault.proxy if fault is not None and fault.proxy in STORES else "minio"


def _location_args(request: pytest.FixtureRequest, store: str) -> tuple[list[str], str, str | None]:
    """``location add`` arguments but the endpoint, the store's endpoint, and its proxy's
    (None when the test uses no proxy: kills, full disks, revoked credentials)."""
    proxied = "toxiproxy" in request.fixturenames

    def creds(server: Any) -> list[str]:
        return [a for k, v in server.credentials.items() for a in ("--credential", f"{k}={v}")]

    if store == "minio":
        server, bucket = request.getfixturevalue("s3_server"), request.getfixturevalue("s3_bucket")
        proxy = request.getfixturevalue("minio_proxy") if proxied else None
        return (["--provider", "s3", "--bucket", bucket, "--region", server.region, *creds(server)],
                server.endpoint, proxy and f"http://{proxy.listen}")
    if store == "azurite":  # path style: http://HOST:PORT/ACCOUNT
        server, container = request.getfixturevalue("azure_server"), request.getfixturevalue("azure_container")
        proxy = request.getfixturevalue("azurite_proxy") if proxied else None
        return (["--provider", "azure", "--bucket", container, *creds(server)], server.endpoint,
                proxy and f"http://{proxy.listen}{urlsplit(server.endpoint).path}")
    server, bucket = request.getfixturevalue("gcs_server"), request.getfixturevalue("gcs_bucket")
    proxy = request.getfixturevalue("gcs_proxy") if proxied else None
    return ["--provider", "gcs", "--bucket", bucket, *creds(server)], server.endpoint, proxy and f"http://{proxy.listen}"


@pytest.fixture
def fault_env(request: pytest.FixtureRequest, cluster: LocalCluster, salvage_home: Path, store: str) -> dict[str, str]:
    """Two locations on one fresh bucket of ``store``: ``proxied`` (through toxiproxy, what runs
    use) and ``direct`` (what the checker and the setup use)."""
    common, endpoint, proxied = _location_args(request, store)
    for name, url in (("direct", endpoint), ("proxied", proxied)):
        if url is None:
            continue
        added = salvage(cluster.kubeconfig, "location", "add", name, "--endpoint", url, *common)
        assert added.returncode == 0, added.describe()
    return {"SALVAGE_REPO_PASSWORD": PASSWORD}


@pytest.fixture
def app_ns(kube: KubeClient, ns: str) -> str:
    """``ns`` with seed 001's app: a Secret, ConfigMaps, a Service, a StatefulSet whose claim's
    hostpath volume holds 256 KiB of files (kwok pods: the CLI reads the files on the host)."""
    workload.deploy(kube, ns)
    return ns


@pytest.fixture
def checker(kube: KubeClient, cluster: LocalCluster, app_ns: str, fault_env: dict[str, str]) -> Checker:
    return Checker.for_namespace(kube, cluster.kubeconfig, open_location("direct"), app_ns)
