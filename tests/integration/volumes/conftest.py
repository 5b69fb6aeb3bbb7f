"""EBS tests: the CLI fixtures of the engine tests, and an EC2 client on the moto server with
the usual AWS chain pointed at it (and nowhere else: no profile, no instance metadata)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from salvage.devcluster.servers import EC2Server
from tests.integration.engines.conftest import salvage

__all__ = ["salvage"]


@pytest.fixture
def aws_env(ec2_server: EC2Server, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> EC2Server:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ec2_server.access_key_id)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", ec2_server.secret_access_key)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    return ec2_server


@pytest.fixture
def ec2(aws_env: EC2Server) -> Any:
    return boto3.client("ec2", endpoint_url=aws_env.endpoint, region_name=aws_env.region,
                        aws_access_key_id=aws_env.access_key_id, aws_secret_access_key=aws_env.secret_access_key)
