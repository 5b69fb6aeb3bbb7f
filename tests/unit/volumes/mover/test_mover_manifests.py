"""The mover pod and Secret: secrets only in the Secret, the claim read-only for a backup,
the pod on the claim's node, the location as pods reach it."""

from __future__ import annotations

import json

import yaml

from salvage.locations.config import LocationSpec
from salvage.model.mover import MoverSettings
from salvage.volumes.mover import manifests
from salvage.volumes.mover.manifests import MoverJob

S3 = LocationSpec(name="m", provider="s3", bucket="b", endpoint="http://127.0.0.1:9000",
                  pod_endpoint="http://10.88.0.1:9100", region="us-east-1",
                  credentials={"access_key_id": "AKID", "secret_access_key": "very-secret"})
DIRECTORY = LocationSpec(name="default", provider="filesystem", bucket="/srv/backups")
BACKUP = MoverJob("backup", "shop", "data-db-0", ("fs", "backup", "/data"), node="node-a",
                  tolerations=({"key": "dedicated", "operator": "Exists"},))
META = {"labels": manifests.labels("r1", BACKUP), "annotations": {}}


def test_the_password_and_credentials_are_only_in_the_secret() -> None:
    pod = manifests.pod_manifest("p", BACKUP, META, S3, MoverSettings())
    secret = manifests.secret_manifest("p", BACKUP, META, S3, "hunter2-password")
    shown = json.dumps(pod)
    assert "hunter2-password" not in shown and "very-secret" not in shown and "AKID" not in shown
    assert secret["stringData"]["password"] == "hunter2-password"
    location = yaml.safe_load(secret["stringData"]["locations.yaml"])["locations"]["m"]
    assert location["credentials"]["secret_access_key"] == "very-secret"
    assert location["endpoint"] == "http://10.88.0.1:9100", "the endpoint pods reach"
    env = {e["name"]: e["value"] for e in pod["spec"]["containers"][0]["env"]}
    assert env["SALVAGE_REPO_PASSWORD_FILE"] == "/etc/salvage-mover/password"
    assert env["SALVAGE_CONFIG_DIR"] == "/etc/salvage-mover"


def test_a_backup_mounts_the_claim_read_only_on_its_node_and_reports_for_programs() -> None:
    pod = manifests.pod_manifest("p", BACKUP, META, S3, MoverSettings(node_selector={"pool": "backup"}))
    spec = pod["spec"]
    [data] = [v for v in spec["volumes"] if v["name"] == "data"]
    assert data["persistentVolumeClaim"] == {"claimName": "data-db-0", "readOnly": True}
    container = spec["containers"][0]
    assert container["args"][:3] == ["fs", "backup", "/data"]
    assert container["args"][3:] == ["--location", "m", "--progress-lines", "--result-file", "/dev/termination-log"]
    assert container["imagePullPolicy"] == "IfNotPresent" and container["resources"]["limits"]["memory"] == "1Gi"
    terms = spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert terms == [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-a"]}]}]
    assert spec["tolerations"] == [{"key": "dedicated", "operator": "Exists"}]
    assert spec["nodeSelector"] == {"pool": "backup"}
    assert spec["restartPolicy"] == "Never" and spec["automountServiceAccountToken"] is False
    assert spec["activeDeadlineSeconds"] == 120 + 3600
    assert pod["metadata"]["labels"] == {"salvage.io/temporary": "true", "salvage.io/run": "r1",
                                         "salvage.io/mover": "backup"}


def test_a_restore_writes_anywhere_its_volume_is_and_a_directory_location_is_mounted_from_the_node() -> None:
    job = MoverJob("restore", "shop", "data-db-0", ("fs", "restore", "abc", "--target", "/data"))
    spec = manifests.pod_manifest("p", job, META, DIRECTORY, MoverSettings())["spec"]
    mounts = {m["name"]: m for m in spec["containers"][0]["volumeMounts"]}
    assert mounts["data"]["readOnly"] is False
    assert mounts["location"]["mountPath"] == "/srv/backups"
    [location] = [v for v in spec["volumes"] if v["name"] == "location"]
    assert location["hostPath"] == {"path": "/srv/backups", "type": "DirectoryOrCreate"}
    assert "affinity" not in spec and "nodeSelector" not in spec


def test_names_are_dns_labels_unique_per_claim() -> None:
    other = MoverJob("backup", "shop", "data-db-1", ())
    name = manifests.object_name("0123abcd", BACKUP)
    assert name.startswith("salvage-backup-0123abcd-") and len(name) <= 63
    assert name != manifests.object_name("0123abcd", other)
