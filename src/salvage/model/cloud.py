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


@dataclass(frozen=True)
class GceSettings:
    """Where and as whom to call GCE compute. The project comes from here, else from the PV's
    CSI volume handle or the volume record, else from Google's Application Default Credentials."""

    project: str | None = None
    endpoint: str | None = None  # a test server (http://127.0.0.1:PORT) or a private endpoint
    cluster_name: str | None = None  # recorded on snapshots and re-created disks as a label
    # None: Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud, metadata
    # server); a path: a service account key file; "anonymous": no credentials (test servers).
    credentials: str | None = None
