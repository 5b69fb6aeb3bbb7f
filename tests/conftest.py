"""Session-wide fixtures: real test servers on loopback (see salvage.devcluster.servers),
and the kwok-only local cluster shared by tests/integration and tests/faults.

Servers are built beforehand (``python -m salvage.devcluster.servers``); a server that
cannot start fails the tests that need it, with its log, instead of skipping them.
"""

from __future__ import annotations

import itertools
import os
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.devcluster.servers import (
    AzureServer,
    EC2Server,
    GCSServer,
    S3Server,
    ToxiproxyClient,
    ToxiproxyServer,
    start_azurite,
    start_fake_gcs,
    start_moto_ec2,
    start_s3_server,
    start_toxiproxy,
)
from salvage.k8s.client import KubeClient
from salvage.model.errors import SalvageError
from tests.support.builders import namespace
from tests.support.real_node_turn import real_node_turn
from tests.support.waiting import wait_for

# A shell starts a background job with SIGINT ignored (scripts/test runs the real node's
# tests so), and Python leaves an ignored SIGINT ignored: the CLIs these tests start would
# then never see the Ctrl-C a test sends them. Take it back, so they inherit the default.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

Server = TypeVar("Server", S3Server, AzureServer, GCSServer, EC2Server, ToxiproxyServer)


# Slow kwok tests that join the real node's lane, so the two lanes end near the same time
# (measured 2026-12-02: the real node's lane took 12 min, the other 23 min).
SECOND_LANE_MODULES = ("tests/integration/volumes/test_ebs_seed_000.py",
                       "tests/integration/volumes/test_azure_disk_seed_000.py")


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by the markers
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test on the real node is marked ``real_node``, and it and a few slow others
    ``second_lane``: scripts/test runs that lane in a process of its own (``-m
    second_lane``) beside the rest (``-m "not second_lane"``). The machine has one real
    node, and a session's ``real_cluster`` holds it (and its lock,
    tests/support/real_node_turn.py) to the end, so its tests cannot be shared out further."""
    for item in items:
        if "real_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.real_node)
            item.add_marker(pytest.mark.second_lane)
        elif item.nodeid.split("::")[0] in SECOND_LANE_MODULES:
            item.add_marker(pytest.mark.second_lane)


def _serve(start: Callable[[Path], Server], workdir: Path) -> Iterator[Server]:
    try:
        server = start(workdir)
    except SalvageError as exc:
        failure = str(exc)
    else:
        failure = ""
    if failure:  # failed outside the except block, so pytest shows no chained traceback
        pytest.fail(failure, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    yield from _serve(start_s3_server, tmp_path_factory.mktemp("s3-server"))


@pytest.fixture(scope="session")
def azure_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AzureServer]:
    yield from _serve(start_azurite, tmp_path_factory.mktemp("azure-server"))


@pytest.fixture(scope="session")
def gcs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GCSServer]:
    yield from _serve(start_fake_gcs, tmp_path_factory.mktemp("gcs-server"))


@pytest.fixture(scope="session")
def ec2_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EC2Server]:
    yield from _serve(start_moto_ec2, tmp_path_factory.mktemp("ec2-server"))


@pytest.fixture(scope="session")
def toxiproxy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ToxiproxyClient]:
    """Toxiproxy's API; tests/faults/conftest.py makes its proxies (MinIO, the API server)."""
    for server in _serve(start_toxiproxy, tmp_path_factory.mktemp("toxiproxy")):
        yield server.client()


# Buckets: obstore cannot create them, so each fixture uses the vendor's own API. A fresh,
# uniquely named bucket per test keeps tests on a shared server independent.


def _bucket_name() -> str:
    return f"test-{uuid.uuid4().hex[:16]}"


@pytest.fixture
def s3_bucket(s3_server: S3Server) -> str:
    import boto3

    name = _bucket_name()
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.endpoint,
        region_name=s3_server.region,
        aws_access_key_id=s3_server.access_key_id,
        aws_secret_access_key=s3_server.secret_access_key,
    )
    client.create_bucket(Bucket=name)
    return name


@pytest.fixture
def azure_container(azure_server: AzureServer) -> str:
    from azure.storage.blob import BlobServiceClient

    name = _bucket_name()
    BlobServiceClient.from_connection_string(azure_server.connection_string).create_container(name)
    return name


@pytest.fixture(scope="session")
def gcs_client(gcs_server: GCSServer) -> Any:
    """A google-cloud-storage client for the GCS test server, which obstore cannot write to
    (see GCSServer). Anonymous: the server checks no credentials."""
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    return storage.Client(
        project=gcs_server.project,
        credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
        client_options={"api_endpoint": gcs_server.endpoint},
    )


@pytest.fixture
def gcs_bucket(gcs_client: Any) -> str:
    name = _bucket_name()
    gcs_client.create_bucket(name)
    return name


_counter = itertools.count()


@pytest.fixture(scope="session")
def cluster() -> Iterator[LocalCluster]:
    """One real control plane with 3 kwok nodes (no container runs) for the whole session,
    removed afterwards."""
    local = LocalCluster(f"it-{os.getpid()}")
    local.up(nodes=3, real_nodes=0)
    yield local
    # SALVAGE_TEST_KEEP_CLUSTER=1 stops the cluster but keeps its logs and data to look at.
    local.down(keep=os.environ.get("SALVAGE_TEST_KEEP_CLUSTER") == "1")


@pytest.fixture(scope="session")
def real_cluster() -> Iterator[LocalCluster]:
    """A cluster with this machine's real node (kubelet, containerd: containers run) and
    one kwok node, for behaviour that lives in a pod. A machine runs one real node at a
    time, so the whole session shares this one, and sessions in other checkouts wait their
    turn (tests/support/real_node_turn.py)."""
    with real_node_turn():
        local = LocalCluster(f"real-{os.getpid()}")
        local.up(nodes=1, real_nodes=1)
        yield local
        local.down(keep=os.environ.get("SALVAGE_TEST_KEEP_CLUSTER") == "1")


@pytest.fixture(scope="session")
def real_kube(real_cluster: LocalCluster) -> Iterator[KubeClient]:
    yield from _client(real_cluster)


@pytest.fixture
def real_ns(real_kube: KubeClient) -> Iterator[str]:
    """A fresh namespace on the real-node cluster, deleted afterwards."""
    yield from _fresh_namespace(real_kube, "r")


@pytest.fixture
def salvage_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Salvage's config (locations) and data (the default location, restores) for this test only."""
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


@pytest.fixture(scope="session")
def kube(cluster: LocalCluster) -> Iterator[KubeClient]:
    yield from _client(cluster)


@pytest.fixture
def ns(kube: KubeClient) -> Iterator[str]:
    """A fresh namespace per test, deleted afterwards."""
    yield from _fresh_namespace(kube, "t")


def _client(cluster: LocalCluster) -> Iterator[KubeClient]:
    with cluster.client() as client:
        yield client


def _fresh_namespace(kube: KubeClient, prefix: str) -> Iterator[str]:
    name = f"{prefix}{next(_counter)}-{os.getpid()}"
    kube.create("/api/v1/namespaces", namespace(name))
    # The controller manager publishes kube-root-ca.crt into every new namespace a moment
    # later (longer under load); tests that count a namespace's objects start once it has.
    wait_for(lambda: kube.exists(f"/api/v1/namespaces/{name}/configmaps/kube-root-ca.crt"),
             timeout=60, interval=0.05, what=f"kube-root-ca.crt in namespace {name}")
    yield name
    kube.delete(f"/api/v1/namespaces/{name}")
