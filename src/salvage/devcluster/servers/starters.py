"""Start each test server for ``salvage dev servers up`` and give it the ``salvage`` bucket.

Buckets are made with each vendor's own API (obstore cannot create them): boto3 for
MinIO, the Azure SDK for Azurite (a test extra), and fake-gcs-server's JSON API.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from salvage.devcluster.servers.azurite import AzureServer, start_azurite
from salvage.devcluster.servers.detached import BUCKET, RunningServer
from salvage.devcluster.servers.fake_gcs import GCSServer, start_fake_gcs
from salvage.devcluster.servers.minio import S3Server, start_minio
from salvage.model.errors import ServerError, ToolchainError


def minio(workdir: Path) -> RunningServer:
    server = start_minio(workdir)
    _or_stop(server.stop, lambda: _s3_bucket(server))
    return RunningServer(
        name="minio", provider="s3", endpoint=server.endpoint, bucket=BUCKET, process=server.launched.process,
        log_path=str(server.log_path), region=server.region, credentials=server.credentials,
        env={"AWS_ACCESS_KEY_ID": server.access_key_id, "AWS_SECRET_ACCESS_KEY": server.secret_access_key,
             "AWS_REGION": server.region, "AWS_ENDPOINT_URL": server.endpoint},
    )


def azurite(workdir: Path) -> RunningServer:
    server = start_azurite(workdir)
    _or_stop(server.stop, lambda: _azure_container(server))
    return RunningServer(
        name="azurite", provider="azure", endpoint=server.endpoint, bucket=BUCKET, process=server.launched.process,
        log_path=str(server.log_path), credentials=server.credentials,
        env={"AZURE_STORAGE_CONNECTION_STRING": server.connection_string,
             "AZURE_STORAGE_ACCOUNT_NAME": server.account_name, "AZURE_STORAGE_ACCOUNT_KEY": server.account_key},
    )


def fake_gcs(workdir: Path) -> RunningServer:
    server = start_fake_gcs(workdir)
    _or_stop(server.stop, lambda: _gcs_bucket(server))
    return RunningServer(
        name="fake-gcs", provider="gcs", endpoint=server.endpoint, bucket=BUCKET, process=server.launched.process,
        log_path=str(server.log_path), credentials=server.credentials,
        env={"STORAGE_EMULATOR_HOST": server.endpoint}, read_only=True,
    )


STARTERS: dict[str, Callable[[Path], RunningServer]] = {"minio": minio, "azurite": azurite, "fake-gcs": fake_gcs}


def _or_stop(stop: Callable[[], None], make_bucket: Callable[[], None]) -> None:
    try:
        make_bucket()
    except BaseException:
        stop()
        raise


def _s3_bucket(server: S3Server) -> None:
    import boto3

    boto3.client(
        "s3", endpoint_url=server.endpoint, region_name=server.region,
        aws_access_key_id=server.access_key_id, aws_secret_access_key=server.secret_access_key,
    ).create_bucket(Bucket=BUCKET)


def _azure_container(server: AzureServer) -> None:
    try:
        from azure.storage.blob import BlobServiceClient
    except ImportError as exc:
        raise ToolchainError(
            "Making the container on Azurite needs the Azure SDK (azure-storage-blob), which is not installed.",
            hint="Install the test extras: `pip install -e '.[test]'`.",
        ) from exc
    BlobServiceClient.from_connection_string(server.connection_string).create_container(BUCKET)


def _gcs_bucket(server: GCSServer) -> None:
    response = httpx.post(f"{server.endpoint}/storage/v1/b", params={"project": server.project},
                          json={"name": BUCKET}, timeout=10)
    if response.status_code != 200:
        raise ServerError(f"fake-gcs-server did not make bucket {BUCKET}: HTTP {response.status_code} "
                          f"{response.text[:200]}", hint=f"Its log is {server.log_path}.")
