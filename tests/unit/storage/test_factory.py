from __future__ import annotations

import pytest

from salvage.model.errors import UsageError
from salvage.storage.factory import StoreConfig, open_store, parse_store_url
from salvage.storage.local import LocalStore


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/srv/repo", StoreConfig(provider="local", bucket="/srv/repo")),
        ("file:///srv/repo", StoreConfig(provider="local", bucket="/srv/repo")),
        ("memory://", StoreConfig(provider="memory")),
        (
            "s3://bkt/a/b?endpoint=http://127.0.0.1:9000&region=eu-west-1",
            StoreConfig(provider="s3", bucket="bkt", prefix="a/b", endpoint="http://127.0.0.1:9000", region="eu-west-1"),
        ),
        (
            "az://ctr/p?account=dev",
            StoreConfig(provider="azure", bucket="ctr", prefix="p", credentials={"account_name": "dev"}),
        ),
        ("gs://b", StoreConfig(provider="gcs", bucket="b")),
    ],
)
def test_parse_store_url(url: str, expected: StoreConfig) -> None:
    assert parse_store_url(url) == expected


@pytest.mark.parametrize("url", ["ftp://x/y", "s3:///nobucket", "s3://b?secret=1"])
def test_bad_urls_are_usage_errors(url: str) -> None:
    with pytest.raises(UsageError):
        parse_store_url(url)


def test_open_local(tmp_path: object) -> None:
    assert isinstance(open_store(parse_store_url(str(tmp_path))), LocalStore)


def test_open_s3_builds_without_network() -> None:
    store = open_store(parse_store_url("s3://bkt/pre?endpoint=http://127.0.0.1:1&region=us-east-1"))
    assert store.url == "s3://bkt/pre"
