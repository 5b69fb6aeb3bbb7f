"""Each test server really stores and serves objects (or EC2 volumes and snapshots).

S3 and Azure are driven through obstore, the SDK our storage layer uses, so these
tests also prove obstore and each server understand each other. GCS is written through
Google's SDK: fake-gcs-server cannot take obstore's writes (see the GCS tests).
"""

from __future__ import annotations

import os
from typing import Any

import boto3
import obstore
import pytest
from obstore.exceptions import AlreadyExistsError, GenericError, PreconditionError
from obstore.store import AzureStore, GCSStore, S3Store

from salvage.devcluster.servers import AzureServer, EC2Server, GCSServer, S3Server

pytestmark = pytest.mark.integration

# Typed Any: obstore's config TypedDicts exist only for type checkers.
LOOPBACK: Any = {"allow_http": True}


def s3_store(server: S3Server, bucket: str) -> S3Store:
    config: Any = {**server.credentials, "endpoint": server.endpoint, "region": server.region}
    return S3Store(bucket, config=config, client_options=LOOPBACK)


def azure_store(server: AzureServer, container: str) -> AzureStore:
    config: Any = {**server.credentials, "endpoint": server.endpoint}
    return AzureStore(container, config=config, client_options=LOOPBACK)


def gcs_store(server: GCSServer, bucket: str) -> GCSStore:
    config: Any = {**server.credentials, "base_url": server.endpoint}
    return GCSStore(bucket, config=config, client_options=LOOPBACK)


def assert_round_trip(store: Any) -> None:
    """Put, list, get byte-identical, delete, and see it gone."""
    data = os.urandom(256 * 1024) + b"\x00end"
    key = "backups/nightly/object.bin"
    obstore.put(store, "elsewhere/other.bin", b"not listed")
    obstore.put(store, key, data, use_multipart=False)

    listed = [(meta["path"], meta["size"]) for batch in obstore.list(store, prefix="backups/") for meta in batch]
    assert listed == [(key, len(data))]
    assert bytes(obstore.get(store, key).bytes()) == data

    obstore.delete(store, key)
    assert [meta for batch in obstore.list(store, prefix="backups/") for meta in batch] == []


def assert_create_refuses_existing(store: Any) -> None:
    """put-if-absent is what the repository's locks and write-once rule stand on."""
    obstore.put(store, "locks/one", b"first", mode="create", use_multipart=False)
    with pytest.raises((AlreadyExistsError, PreconditionError)):
        obstore.put(store, "locks/one", b"second", mode="create", use_multipart=False)
    assert bytes(obstore.get(store, "locks/one").bytes()) == b"first"


def assert_multipart_put(store: Any) -> None:
    data = os.urandom(12 * 1024 * 1024)  # more than two 5 MiB parts
    obstore.put(store, "big.bin", data, use_multipart=True, chunk_size=5 * 1024 * 1024)
    assert bytes(obstore.get(store, "big.bin").bytes()) == data


def test_s3_round_trip(s3_server: S3Server, s3_bucket: str) -> None:
    assert_round_trip(s3_store(s3_server, s3_bucket))


def test_s3_put_if_absent(s3_server: S3Server, s3_bucket: str) -> None:
    assert_create_refuses_existing(s3_store(s3_server, s3_bucket))


def test_s3_multipart(s3_server: S3Server, s3_bucket: str) -> None:
    assert_multipart_put(s3_store(s3_server, s3_bucket))


def test_azure_round_trip(azure_server: AzureServer, azure_container: str) -> None:
    assert_round_trip(azure_store(azure_server, azure_container))


def test_azure_put_if_absent(azure_server: AzureServer, azure_container: str) -> None:
    assert_create_refuses_existing(azure_store(azure_server, azure_container))


def test_azure_multipart(azure_server: AzureServer, azure_container: str) -> None:
    assert_multipart_put(azure_store(azure_server, azure_container))


# GCS: fake-gcs-server has no XML-API object PUT, which is how obstore writes, so the
# round trip goes through Google's SDK (JSON API) and obstore is checked for what it can do.


def test_gcs_round_trip(gcs_client: Any, gcs_bucket: str) -> None:
    bucket = gcs_client.bucket(gcs_bucket)
    data = os.urandom(256 * 1024) + b"\x00end"
    key = "backups/nightly/object.bin"
    bucket.blob("elsewhere/other.bin").upload_from_string(b"not listed")
    bucket.blob(key).upload_from_string(data)

    listed = [(blob.name, blob.size) for blob in gcs_client.list_blobs(gcs_bucket, prefix="backups/")]
    assert listed == [(key, len(data))]
    assert bucket.blob(key).download_as_bytes() == data

    bucket.blob(key).delete()
    assert list(gcs_client.list_blobs(gcs_bucket, prefix="backups/")) == []


def test_gcs_put_if_absent(gcs_client: Any, gcs_bucket: str) -> None:
    from google.api_core.exceptions import PreconditionFailed

    bucket = gcs_client.bucket(gcs_bucket)
    bucket.blob("locks/one").upload_from_string(b"first", if_generation_match=0)
    with pytest.raises(PreconditionFailed):
        bucket.blob("locks/one").upload_from_string(b"second", if_generation_match=0)
    assert bucket.blob("locks/one").download_as_bytes() == b"first"


def test_gcs_resumable_upload(gcs_client: Any, gcs_bucket: str) -> None:
    data = os.urandom(12 * 1024 * 1024)
    blob = gcs_client.bucket(gcs_bucket).blob("big.bin", chunk_size=5 * 1024 * 1024)  # 3 chunks
    blob.upload_from_string(data)
    assert gcs_client.bucket(gcs_bucket).blob("big.bin").download_as_bytes() == data


def test_gcs_obstore_lists_reads_and_deletes(gcs_server: GCSServer, gcs_client: Any, gcs_bucket: str) -> None:
    data = os.urandom(64 * 1024)
    gcs_client.bucket(gcs_bucket).blob("backups/object.bin").upload_from_string(data)
    store = gcs_store(gcs_server, gcs_bucket)

    assert [meta["path"] for batch in obstore.list(store, prefix="backups/") for meta in batch] == [
        "backups/object.bin"
    ]
    assert obstore.head(store, "backups/object.bin")["size"] == len(data)
    assert bytes(obstore.get(store, "backups/object.bin").bytes()) == data
    obstore.delete(store, "backups/object.bin")
    assert list(gcs_client.list_blobs(gcs_bucket)) == []


@pytest.mark.parametrize("multipart", [False, True], ids=["single", "multipart"])
def test_gcs_obstore_put_is_refused_by_the_server(gcs_server: GCSServer, gcs_bucket: str, multipart: bool) -> None:
    """Why Salvage writes GCS through the JSON API (salvage.storage.gcs): fake-gcs-server has
    no XML-API object PUT nor multipart upload (fsouza/fake-gcs-server#331, #852). When this
    fails, a release can take obstore's writes: see docs/test-servers.md."""
    store = gcs_store(gcs_server, gcs_bucket)
    with pytest.raises(GenericError, match="invalid uploadType"):
        if multipart:
            assert_multipart_put(store)
        else:
            obstore.put(store, "object.bin", b"data", use_multipart=False)


def test_ec2_volume_and_snapshot(ec2_server: EC2Server) -> None:
    ec2 = boto3.client(
        "ec2",
        endpoint_url=ec2_server.endpoint,
        region_name=ec2_server.region,
        aws_access_key_id=ec2_server.access_key_id,
        aws_secret_access_key=ec2_server.secret_access_key,
    )
    tags = [{"Key": "salvage.io/claim", "Value": "data-db-0"}]
    volume = ec2.create_volume(
        AvailabilityZone=ec2_server.availability_zone,
        Size=8,
        VolumeType="gp3",
        TagSpecifications=[{"ResourceType": "volume", "Tags": tags}],
    )
    snapshot = ec2.create_snapshot(
        VolumeId=volume["VolumeId"],
        Description="salvage test",
        TagSpecifications=[{"ResourceType": "snapshot", "Tags": tags}],
    )

    [described_volume] = ec2.describe_volumes(VolumeIds=[volume["VolumeId"]])["Volumes"]
    assert described_volume["AvailabilityZone"] == ec2_server.availability_zone
    assert described_volume["Size"] == 8
    assert described_volume["Tags"] == tags

    [described_snapshot] = ec2.describe_snapshots(SnapshotIds=[snapshot["SnapshotId"]])["Snapshots"]
    assert described_snapshot["VolumeId"] == volume["VolumeId"]
    assert described_snapshot["Tags"] == tags
    assert described_snapshot["State"] in ("pending", "completed")
