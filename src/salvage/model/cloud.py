"""Settings for cloud-disk providers, shared by front doors and engines (no SDK imports here,
so the CLI starts without loading boto3)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AwsSettings:
    """Where and as whom to call EC2. Every field left None comes from the usual AWS chain
    (environment, ~/.aws/config and credentials, instance metadata) or, for the region and
    cluster, from the volume record itself."""

    region: str | None = None
    endpoint_url: str | None = None  # a test server (moto) or a VPC endpoint
    cluster_name: str | None = None  # for the KubernetesCluster tags on re-created volumes
    availability_zone: str | None = None  # restore only: re-create volumes here
    access_key_id: str | None = None
    secret_access_key: str | None = None
