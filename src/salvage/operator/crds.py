"""The custom resource definitions (group salvage.io, v1alpha1), rendered from Python.

deploy/crds.yaml is this rendering (a unit test keeps them equal). Schemas are structural
and validate what the API server can check (enums, patterns, ranges), so a bad object is
refused at `kubectl apply` rather than failed later by the operator."""

from __future__ import annotations

from typing import Any

from salvage.k8s.api_groups import SALVAGE_API_VERSION, SALVAGE_GROUP, SALVAGE_VERSION, salvage

GROUP = SALVAGE_GROUP
VERSION = SALVAGE_VERSION
API_VERSION = SALVAGE_API_VERSION

JSON = dict[str, Any]

PHASES = ["New", "InProgress", "Completed", "PartiallyFailed", "Failed"]
DURATION = r"^([0-9]+[dhms])+$"  # 720h, 30d, 1h30m: the CLI's --ttl
NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
# --volume-snapshot-provider's choices (volumes/registry.py; a unit test keeps them equal).
PROVIDERS = ["auto", "csi", "aws-ebs", "gce-pd", "azure-disk"]


def _str(description: str, **extra: Any) -> JSON:
    return {"type": "string", "description": description, **extra}


def _strings(description: str) -> JSON:
    return {"type": "array", "description": description, "items": {"type": "string", "minLength": 1}}


def _int(description: str, minimum: int = 0) -> JSON:
    return {"type": "integer", "description": description, "minimum": minimum}


def _bool(description: str) -> JSON:
    return {"type": "boolean", "description": description}


def _time(description: str) -> JSON:
    return {"type": "string", "format": "date-time", "description": description}


def _object(properties: JSON, description: str = "", required: list[str] | None = None) -> JSON:
    out: JSON = {"type": "object", "properties": properties}
    if description:
        out["description"] = description
    if required:
        out["required"] = required
    return out


def _secret_key(description: str) -> JSON:
    return _object({"name": _str("The Secret's name, in the operator's namespace.", minLength=1),
                    "key": _str("The key in the Secret.", minLength=1)}, description, required=["name", "key"])


def _column(name: str, path: str, kind: str = "string", priority: int = 0) -> JSON:
    column: JSON = {"name": name, "type": kind, "jsonPath": path}
    if priority:
        column["priority"] = priority
    return column


def backup_spec_schema() -> JSON:
    """The options of `salvage backup create`, named as the backup's manifest records them
    (engines.backup.BackupRequest.to_json), so a backup synced from a location keeps its spec."""
    return _object({
        "includeNamespaces": _strings("Namespaces to back up; globs allowed (default: all)."),
        "excludeNamespaces": _strings("Namespaces to leave out; globs allowed."),
        "includeResources": _strings("Resources to back up, e.g. configmaps, statefulsets.apps (default: all)."),
        "excludeResources": _strings("Resources to leave out, e.g. events, pods."),
        "labelSelector": _str("Only objects with these labels, e.g. app=web.", nullable=True),
        "includeClusterResources": _str("auto, true or false.", enum=["auto", "true", "false"]),
        "snapshotVolumes": _bool("Capture the volumes' data (default true)."),
        "defaultVolumesToFsBackup": _bool("Copy volumes' files into the location's repository."),
        "volumeSnapshotProvider": _str("How volumes are snapshotted.", enum=PROVIDERS),
        "snapshotMoveData": _bool("Snapshot each CSI volume, copy its files into the location's repository "
                                  "(a data-mover pod), then release the snapshot."),
        "snapshotTimeoutSeconds": _int("Seconds to wait per volume snapshot.", 1),
        "ttl": _str("How long to keep it, e.g. 720h.", pattern=DURATION),
        "location": _str("The BackupLocation to write to (default: the one marked default).", pattern=NAME),
        "repoPasswordSecret": _secret_key("The repository password, for file-level (fs) volumes."),
    })


def _progress(**fields: JSON) -> JSON:
    """A running Backup's or Restore's progress, rewritten every few seconds while it runs
    (operator/live_status.py) and kept, final, when it ends."""
    return _object({
        "resources": _int("Resource types done."),
        "items": _int("Objects done."),
        **fields,
        "volumeBytes": _int("Bytes of volume data copied by data-mover pods."),
        "warnings": _int("Warnings and errors so far."),
        "step": _str("What it is doing now."),
        "updated": _time("When this progress was written."),
    }, "How far the run is.")


def _backup() -> JSON:
    status = _object({
        "phase": _str("Where the backup is.", enum=PHASES),
        "location": _str("The location it was written to."),
        "items": _int("Objects backed up."),
        "volumes": _int("Volumes captured."),
        "bytesWritten": _int("Bytes written to the location."),
        "progress": _progress(volumes=_int("Volumes captured.")),
        "resourceCounts": {"type": "object", "description": "Objects backed up per resource type.",
                           "additionalProperties": {"type": "integer"}},
        "warnings": _strings("Warnings of the run."),
        "errors": _strings("Errors of the run; PartiallyFailed or Failed say why here."),
        "reason": _str("Why the backup failed, in one sentence."),
        "operator": _str("The operator (Lease holder identity) running it; another one fails or resumes it."),
        "started": _time("When the run started."),
        "completed": _time("When the run ended."),
        "expires": _time("When TTL deletes it."),
        "synced": _bool("Found on the location, not made by this cluster."),
        "observedGeneration": _int("The spec generation this status is for."),
    })
    columns = [_column("Phase", ".status.phase"), _column("Location", ".status.location"),
               _column("Items", ".status.items", "integer"), _column("Reason", ".status.reason", priority=1),
               _column("Started", ".status.started", "date"), _column("Expires", ".status.expires", "date", 1),
               _column("Age", ".metadata.creationTimestamp", "date")]
    return _crd("Backup", "backups", backup_spec_schema(), status, columns, short=["bk"])


def _restore() -> JSON:
    spec = _object({
        "backupName": _str("The backup to restore.", minLength=1),
        "location": _str("Where the backup is (default: the Backup object's location, or the default).",
                         pattern=NAME),
        "includeNamespaces": _strings("Namespaces to restore; globs allowed (default: all)."),
        "excludeNamespaces": _strings("Namespaces to leave out."),
        "includeResources": _strings("Resources to restore (default: all)."),
        "excludeResources": _strings("Resources to leave out."),
        "labelSelector": _str("Only objects with these labels.", nullable=True),
        "namespaceMapping": {"type": "object", "description": "Restore namespace OLD into NEW.",
                             "additionalProperties": {"type": "string", "pattern": NAME}},
        "storageClassMapping": {"type": "object", "description": "Give claims of class OLD the class NEW.",
                                "additionalProperties": {"type": "string", "minLength": 1}},
        "existingResourcePolicy": _str("An object that exists: none (keep it) or update (replace it).",
                                       enum=["none", "update"]),
        "dryRun": _bool("Plan only; change nothing."),
        "wait": _bool("Wait for volumes and workloads to be ready (default true)."),
        "timeoutSeconds": _int("Seconds to wait for readiness.", 1),
        "repoPasswordSecret": _secret_key("The repository password, for file-level (fs) volumes."),
    }, required=["backupName"])
    failure = _object({"resource": _str("Resource."), "namespace": _str("Namespace.", nullable=True),
                       "name": _str("Name."), "reason": _str("Why it failed.")})
    status = _object({
        "phase": _str("Where the restore is.", enum=[*PHASES, "Planned"]),
        "counts": {"type": "object", "description": "Items per action (created, updated, skipped, failed).",
                   "additionalProperties": {"type": "integer"}},
        "failures": {"type": "array", "items": failure, "description": "Items that failed, with reasons."},
        "progress": _progress(),
        "resourceCounts": {"type": "object", "description": "Per resource type, objects per action.",
                           "additionalProperties": {"type": "object", "additionalProperties": {"type": "integer"}}},
        "warnings": _strings("Warnings."),
        "errors": _strings("Errors."),
        "reason": _str("Why the restore failed, in one sentence."),
        "operator": _str("The operator running it."),
        "started": _time("When the run started."),
        "completed": _time("When the run ended."),
        "observedGeneration": _int("The spec generation this status is for."),
    })
    columns = [_column("Backup", ".spec.backupName"), _column("Phase", ".status.phase"),
               _column("Created", ".status.counts.created", "integer"),
               _column("Failed", ".status.counts.failed", "integer"),
               _column("Age", ".metadata.creationTimestamp", "date")]
    return _crd("Restore", "restores", spec, status, columns, short=["rs"])


def _backup_location() -> JSON:
    spec = _object({
        "provider": _str("Where backups are kept.", enum=["filesystem", "s3", "azure", "gcs"]),
        "bucket": _str("The bucket, or the directory for filesystem (in the operator's pod).", minLength=1),
        "prefix": _str("A folder in the bucket."),
        "endpoint": _str("The object store's URL (test servers, S3-compatible stores).",
                         pattern=r"^https?://[^/\s]+(/.*)?$"),
        "region": _str("The region (s3)."),
        "accessMode": _str("ReadOnly locations are never written (migrations).", enum=["ReadWrite", "ReadOnly"]),
        "default": _bool("Backups and restores that name no location use this one."),
        "credentialsSecret": _object(
            {"name": _str("The Secret's name, in the operator's namespace.", minLength=1)},
            "A Secret whose keys are provider settings (obstore keys, e.g. aws_access_key_id).",
            required=["name"]),
        "checkPeriodSeconds": _int("How often availability is checked (default 60).", 5),
    }, required=["provider", "bucket"])
    status = _object({
        "phase": _str("Whether the location answers.", enum=["Available", "Unavailable"]),
        "reason": _str("Why it is unavailable."),
        "backups": _int("Backups found on it at the last check."),
        "lastChecked": _time("When it was last checked."),
        "observedGeneration": _int("The spec generation this status is for."),
    })
    columns = [_column("Provider", ".spec.provider"), _column("Bucket", ".spec.bucket"),
               _column("Access", ".spec.accessMode"), _column("Phase", ".status.phase"),
               _column("Default", ".spec.default", "boolean"), _column("Reason", ".status.reason", priority=1),
               _column("Age", ".metadata.creationTimestamp", "date")]
    return _crd("BackupLocation", "backuplocations", spec, status, columns, short=["bsl"])


def _schedule() -> JSON:
    retention = _object({
        "keepLast": _int("Keep the newest N backups."),
        "hourly": _int("Keep the newest backup of each of the last N hours."),
        "daily": _int("... of each of the last N days."),
        "weekly": _int("... of each of the last N weeks."),
        "monthly": _int("... of each of the last N months."),
        "yearly": _int("... of each of the last N years."),
        "floorCompleted": _int("The newest N Completed backups are never deleted, whatever their age.", 1),
    }, "Which backups of this schedule to keep; the others are deleted through the engine.")
    spec = _object({
        "schedule": _str("Cron: five fields, six with seconds first, or @hourly, @daily, ...",
                         pattern=r"^(@[a-z]+|\S+( +\S+){4,5})$"),
        "timeZone": _str("IANA time zone of the cron (default UTC).", minLength=1),
        "paused": _bool("Make no backups while true."),
        "concurrencyPolicy": _str("Forbid (default): never two backups of this schedule at once.",
                                  enum=["Forbid", "Allow"]),
        "template": backup_spec_schema(),
        "retention": retention,
    }, required=["schedule", "template"])
    status = _object({
        "phase": _str("Whether it runs.", enum=["Enabled", "Paused", "Invalid"]),
        "reason": _str("Why it is invalid."),
        "lastBackup": _str("The newest backup it made."),
        "lastScheduled": _time("When it last made a backup."),
        "lastSuccessful": _time("When its last Completed backup ended."),
        "nextRun": _time("When it runs next."),
        "missedRuns": _int("Runs skipped (Forbid, or the operator was down)."),
        "observedGeneration": _int("The spec generation this status is for."),
    })
    columns = [_column("Schedule", ".spec.schedule"), _column("TimeZone", ".spec.timeZone"),
               _column("Phase", ".status.phase"),
               _column("Paused", ".spec.paused", "boolean"), _column("Last", ".status.lastScheduled", "date"),
               _column("Next", ".status.nextRun", "date"), _column("Age", ".metadata.creationTimestamp", "date")]
    return _crd("Schedule", "schedules", spec, status, columns, short=["sched"])


def _drill() -> JSON:
    checks = _object({
        "verifyCommand": _strings("A command run in each restored workload's pod once Ready (argv); the drill "
                                  "fails if it exits non-zero, e.g. [sh, -c, 'test -s /data/app.db']."),
        "verifyContainer": _str("The container for verifyCommand (default: the pod's only one)."),
        "verifySelector": _str("Run verifyCommand only in pods with these labels, e.g. app=db."),
        "timeoutSeconds": _int("Seconds to wait for readiness, and for each verifyCommand (default 600).", 1),
    }, "Checks beyond those every drill makes (every object restored or skipped with a reason, each "
       "volume's tree digest, PostgreSQL row counts).")
    spec = _object({
        "schedule": _str("Cron: five fields, six with seconds first, or @hourly, @daily, ...",
                         pattern=r"^(@[a-z]+|\S+( +\S+){4,5})$"),
        "timeZone": _str("IANA time zone of the cron (default UTC).", minLength=1),
        "paused": _bool("Run no drill while true."),
        "backupName": _str("Drill this backup (one of backupName and scheduleName).", minLength=1),
        "scheduleName": _str("Drill the newest Completed backup of this Schedule.", pattern=NAME),
        "location": _str("Where the backup is (default: the BackupLocation marked default).", pattern=NAME),
        "checks": checks,
        "keepReports": _int("How many of its reports to keep (default 10); older ones are deleted.", 1),
        "repoPasswordSecret": _secret_key("The repository password, for file-level (fs) volumes and dumps."),
    }, required=["schedule"])
    status = _object({
        "phase": _str("Whether it runs.", enum=["Enabled", "Paused", "Invalid"]),
        "reason": _str("Why it is invalid, or why the last drill could not start."),
        "lastScheduled": _time("When it last started a drill."),
        "nextRun": _time("When it runs next."),
        "lastDrill": _str("The newest drill's report name."),
        "lastBackup": _str("The backup the newest drill restored."),
        "lastResult": _str("Passed or Failed.", enum=["Passed", "Failed"]),
        "lastSuccessful": _time("When its last passing drill ended."),
        "recoveryTimeSeconds": {"type": "number", "description": "The newest passing drill's recovery time."},
        "recoveryPointSeconds": {"type": "number", "description": "The drilled backup's age when the newest "
                                                                  "drill started."},
        "phases": {"type": "object", "description": "The newest drill's seconds per phase.",
                   "additionalProperties": {"type": "number"}},
        "failures": _strings("What failed in the newest drill (checks and errors)."),
        "consecutiveFailures": _int("Drills failed in a row."),
        "reports": _strings("The reports kept (keepReports), oldest first."),
        "observedGeneration": _int("The spec generation this status is for."),
    })
    columns = [_column("Schedule", ".spec.schedule"), _column("Backup", ".status.lastBackup"),
               _column("Result", ".status.lastResult"), _column("RTO", ".status.recoveryTimeSeconds", "number"),
               _column("Phase", ".status.phase", priority=1), _column("Last", ".status.lastScheduled", "date"),
               _column("Next", ".status.nextRun", "date"), _column("Age", ".metadata.creationTimestamp", "date")]
    crd = _crd("Drill", "drills", spec, status, columns, short=["dr"])
    # One of backupName and scheduleName, checked by the API server.
    crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]["x-kubernetes-validations"] = [
        {"rule": "has(self.backupName) != has(self.scheduleName)",
         "message": "set exactly one of backupName and scheduleName"}]
    return crd


def _crd(kind: str, plural: str, spec: JSON, status: JSON, columns: list[JSON], short: list[str]) -> JSON:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}", "labels": {"app.kubernetes.io/part-of": "salvage"}},
        "spec": {
            "group": GROUP,
            "names": {"kind": kind, "listKind": f"{kind}List", "plural": plural, "singular": kind.lower(),
                      "shortNames": short, "categories": ["salvage"]},
            "scope": "Namespaced",
            "versions": [{
                "name": VERSION, "served": True, "storage": True,
                "schema": {"openAPIV3Schema": _object({
                    "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                    "metadata": {"type": "object"}, "spec": spec, "status": status,
                }, required=["spec"])},
                "subresources": {"status": {}},
                "additionalPrinterColumns": columns,
            }],
        },
    }


def crds() -> list[JSON]:
    """Every CRD, in the order `salvage install` applies them."""
    return [_backup_location(), _backup(), _restore(), _schedule(), _drill()]


def collection(plural: str, namespace: str | None = None) -> str:
    """The API path of a collection of ours (all namespaces when ``namespace`` is None)."""
    return salvage(plural, namespace)


def item(plural: str, namespace: str, name: str) -> str:
    return salvage(plural, namespace, name)
