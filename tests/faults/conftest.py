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

from salvage.devcluster.cluster import LocalCluster
from salvage.devcluster.servers import Proxy, ToxiproxyClient
from salvage.k8s.client import KubeClient
from salvage.locations import open_location
from tests.faults.checker import PASSWORD, Checker
from tests.faults.runner import salvage
from tests.integration.engines import workload


@pytest.fixture(scope="session")
def minio_proxy(toxiproxy: ToxiproxyClient, s3_server: Any) -> Proxy:
    return toxiproxy.create_proxy("minio", urlsplit(s3_server.endpoint).netloc)


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
def fault_env(cluster: LocalCluster, salvage_home: Path, s3_server: Any, s3_bucket: str,
              minio_proxy: Proxy) -> dict[str, str]:
    """Two locations on one fresh bucket: ``proxied`` (through toxiproxy, the default, what
    runs use) and ``direct`` (what the checker and the setup use)."""
    creds = [a for k, v in s3_server.credentials.items() for a in ("--credential", f"{k}={v}")]
    common = ["--provider", "s3", "--bucket", s3_bucket, "--region", s3_server.region, *creds]
    for name, endpoint in (("direct", s3_server.endpoint), ("proxied", f"http://{minio_proxy.listen}")):
        added = salvage(cluster.kubeconfig, "location", "add", name, "--endpoint", endpoint, *common)
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
