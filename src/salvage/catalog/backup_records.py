"""The JSON records of a backup (wire types; see docs/FORMAT.md)."""

from __future__ import annotations

from typing import Any, NotRequired, TypedDict


class FileEntry(TypedDict):
    sha256: str
    size: int


class ResourceEntry(TypedDict):
    group: str
    version: str
    resource: str
    kind: str
    namespaced: bool
    count: int
    files: list[str]


class VolumeRecord(TypedDict, total=False):
    namespace: str
    pvc: str
    pv: str
    storageClass: str | None
    size: str
    method: str  # a registered volume method (volumes/registry.py: csi-snapshot, aws-ebs, gce-pd, fs, postgresql) or none
    driver: str
    snapshotHandle: str
    restoreSize: int
    treeDigest: str  # fs: "sha256:<hex>", the tree digest of the files stored (docs/FORMAT.md)
    volumeSnapshotClass: str
    volumeSnapshotContent: str
    # aws-ebs (snapshotHandle is the EBS snapshot ID): enough to re-create the disk and its PV.
    region: str
    availabilityZone: str
    volumeId: str
    volumeType: str
    sizeGiB: int
    iops: int
    throughput: int
    encrypted: bool
    kmsKeyId: str
    cluster: str
    # gce-pd (snapshotHandle is the snapshot's name in ``project``; availabilityZone,
    # volumeType, sizeGiB, cluster as above): the disk it was taken from, and its CMEK key.
    project: str
    diskName: str
    kmsKeyName: str
    replicaZones: list[str]  # a regional disk's two zones (availabilityZone is then the first)
    # azure-disk (snapshotHandle is the snapshot's ARM ID; region, availabilityZone (the zone
    # number, empty for a regional disk), volumeType (the SKU), sizeGiB, diskName as above).
    subscription: str
    resourceGroup: str
    diskEncryptionSetId: str
    # Copies of the snapshot in other regions (backup create --copy-snapshots-to), each
    # {region, snapshotHandle, and the cloud's own fields, e.g. kmsKeyId}; deleted with the backup.
    copies: list[dict[str, Any]]
    pvSource: str  # awsElasticBlockStore | gcePersistentDisk | azureDisk | csi
    fsType: str
    accessModes: list[str]
    reclaimPolicy: str
    volumeMode: str
    # postgresql (snapshotHandle is the repository snapshot of the dumps): the server version,
    # and per database its dump's file, size, SHA-256 and every table's row count at dump time.
    database: dict[str, Any]
    error: str


class Manifest(TypedDict):
    formatVersion: int
    kind: str
    name: str
    phase: str
    startedAt: str
    completedAt: str
    expiresAt: str | None
    cluster: dict[str, Any]
    spec: dict[str, Any]
    labels: NotRequired[dict[str, str]]  # the backup's own labels (absent in older backups)
    resources: list[ResourceEntry]
    files: dict[str, FileEntry]
