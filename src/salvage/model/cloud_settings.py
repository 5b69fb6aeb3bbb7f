"""Settings for cloud-disk providers, shared by front doors and engines (no SDK imports here,
so the CLI starts without loading boto3)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class RegionSettings:
    """Copies of cloud-disk snapshots in other regions, for a lost region, the same for every
    cloud. Backups: ``copy_to`` names the regions each snapshot is copied into (beside the
    original, recorded in the volume record's ``copies``). Restores: ``restore_region`` picks
    the copy in that region to re-create disks from, and ``zone_map`` says which zone a disk
    of an old zone goes into (default: the same zone letter or number in the new region)."""

    copy_to: tuple[str, ...] = ()
    copy_kms_key: str | None = None  # EBS, GCE: a KMS key in the copy's region for its encryption
    restore_region: str | None = None
    zone_map: tuple[tuple[str, str], ...] = ()

    def zone_for(self, zone: str) -> str | None:
        """The zone ``zone_map`` sends ``zone`` to, if it names it."""
        return dict(self.zone_map).get(zone)


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
    regions: RegionSettings = field(default_factory=RegionSettings)


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
    regions: RegionSettings = field(default_factory=RegionSettings)


@dataclass(frozen=True)
class AzureSettings:
    """Where and as whom to call Azure Resource Manager. The subscription and resource group
    come from here, else from the PV's disk ID or the volume record."""

    subscription_id: str | None = None
    resource_group: str | None = None  # restore only: re-create disks in this group
    endpoint: str | None = None  # ARM's URL: a sovereign cloud, or a test server (https://127.0.0.1:PORT)
    ca_bundle: str | None = None  # a CA file to trust for ``endpoint`` (a test server's certificate)
    cluster_name: str | None = None  # recorded on snapshots and re-created disks as a tag
    # None: azure-identity's DefaultAzureCredential (environment, workload identity, managed
    # identity, Azure CLI); "test-token": a fixed bearer token (test servers only).
    credentials: str | None = None
    regions: RegionSettings = field(default_factory=RegionSettings)
