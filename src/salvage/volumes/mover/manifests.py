"""The data-mover pod and its temporary Secret, as raw Kubernetes JSON (no I/O here).

The Secret holds the repository password and a ``locations.yaml`` with the one location
the pod writes to or reads from (credentials included, the endpoint as pods see it); the pod
mounts it read-only and the ``salvage`` CLI in it finds both through environment variables
that name files, so no secret is ever on a command line, in the pod spec or in a log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import yaml

from salvage.locations.config import LocationSpec
from salvage.model.mover import MoverSettings

JSON = dict[str, Any]

LABEL_TEMPORARY = "salvage.io/temporary"
LABEL_RUN = "salvage.io/run"
LABEL_ACTION = "salvage.io/mover"
# When a run that was killed has certainly given up on the object: a later run removes it.
ANNOTATION_EXPIRES = "salvage.io/expires"
ANNOTATION_CLAIM = "salvage.io/claim"
# When its run last said it is alive (every HEARTBEAT_EVERY seconds): a pod whose run was
# killed stops beating, and a later run removes it once the beat is HEARTBEAT_STALE old.
ANNOTATION_HEARTBEAT = "salvage.io/heartbeat"
HEARTBEAT_EVERY = 10.0
HEARTBEAT_STALE = 60.0
# The node a mover was made for, before the scheduler names it (the per-node cap counts it).
ANNOTATION_NODE = "salvage.io/node"

CONTAINER = "mover"
DATA_PATH = "/data"
SECRET_PATH = "/etc/salvage-mover"
PASSWORD_KEY = "password"
LOCATIONS_KEY = "locations.yaml"
RESULT_PATH = "/dev/termination-log"


@dataclass(frozen=True)
class MoverJob:
    """One claim's copy: ``action`` is ``backup`` (claim read-only) or ``restore``."""

    action: str
    namespace: str
    claim: str
    args: tuple[str, ...]  # after `salvage`, without the location and reporting options
    node: str | None = None  # the node the pod must run on (where an RWO claim is in use)
    tolerations: tuple[JSON, ...] = field(default=())  # those of the pod using the claim
    # The node the volume is pinned to, when known before the pod is made: it does not
    # place the pod (the PV's node affinity does), but the per-node cap counts the pod there.
    volume_node: str | None = None

    @property
    def slot_node(self) -> str | None:
        """The node whose cap this mover counts against (None: unknown until scheduled)."""
        return self.node or self.volume_node

    @property
    def label(self) -> str:
        return f"{self.namespace}/{self.claim}"


def object_name(run_id: str, job: MoverJob) -> str:
    """A DNS label, unique per run and claim: ``salvage-backup-<run>-<claim hash>``."""
    digest = hashlib.sha256(job.label.encode()).hexdigest()[:8]
    return f"salvage-{job.action}-{run_id}-{digest}"


def labels(run_id: str, job: MoverJob) -> dict[str, str]:
    return {LABEL_TEMPORARY: "true", LABEL_RUN: run_id, LABEL_ACTION: job.action}


def annotations(job: MoverJob, settings: MoverSettings, now: dt.datetime) -> dict[str, str]:
    expires = now + dt.timedelta(seconds=settings.start_timeout + settings.run_timeout + 60)
    made = {ANNOTATION_EXPIRES: stamp(expires), ANNOTATION_CLAIM: job.label, ANNOTATION_HEARTBEAT: stamp(now)}
    if job.slot_node:
        made[ANNOTATION_NODE] = job.slot_node
    return made


def stamp(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")


def pod_location(spec: LocationSpec) -> LocationSpec:
    """The location as a pod sees it: its endpoint for pods, when it has one."""
    return LocationSpec(name=spec.name, provider=spec.provider, bucket=spec.bucket, prefix=spec.prefix,
                        endpoint=spec.pod_endpoint or spec.endpoint, region=spec.region,
                        access_mode=spec.access_mode, credentials=dict(spec.credentials))


def locations_file(spec: LocationSpec) -> str:
    entry = {k: v for k, v in pod_location(spec).to_json(secrets=True).items() if k not in ("name", "pod_endpoint")}
    return yaml.safe_dump({"locations": {spec.name: entry}}, sort_keys=False)


def secret_manifest(name: str, job: MoverJob, meta: JSON, spec: LocationSpec, password: str) -> JSON:
    return {
        "apiVersion": "v1", "kind": "Secret", "type": "Opaque",
        "metadata": {"name": name, "namespace": job.namespace, **meta},
        "stringData": {PASSWORD_KEY: password, LOCATIONS_KEY: locations_file(spec)},
    }


def command(job: MoverJob, spec: LocationSpec) -> list[str]:
    """The mover's arguments (the image's entrypoint is ``salvage``)."""
    return [*job.args, "--location", spec.name, "--progress-lines", "--result-file", RESULT_PATH]


def pod_manifest(name: str, job: MoverJob, meta: JSON, spec: LocationSpec, settings: MoverSettings) -> JSON:
    read_only = job.action == "backup"
    mounts: list[JSON] = [
        {"name": "data", "mountPath": DATA_PATH, "readOnly": read_only},
        {"name": "secret", "mountPath": SECRET_PATH, "readOnly": True},
    ]
    volumes: list[JSON] = [
        {"name": "data", "persistentVolumeClaim": {"claimName": job.claim, "readOnly": read_only}},
        {"name": "secret", "secret": {"secretName": name, "defaultMode": 0o400}},
    ]
    if spec.provider == "filesystem":
        # A directory location lives on the node (the local cluster's node is this machine):
        # the pod sees it at the same path, so the location file needs no rewriting.
        mounts.append({"name": "location", "mountPath": spec.bucket})
        volumes.append({"name": "location", "hostPath": {"path": spec.bucket, "type": "DirectoryOrCreate"}})
    container: JSON = {
        "name": CONTAINER, "image": settings.image, "imagePullPolicy": settings.pull_policy,
        "args": command(job, spec),
        "env": [
            {"name": "SALVAGE_CONFIG_DIR", "value": SECRET_PATH},
            {"name": "SALVAGE_REPO_PASSWORD_FILE", "value": f"{SECRET_PATH}/{PASSWORD_KEY}"},
            {"name": "HOME", "value": "/tmp"},
            {"name": "NO_COLOR", "value": "1"},
        ],
        "volumeMounts": mounts,
        "resources": {"requests": dict(settings.requests), "limits": dict(settings.limits)},
        "terminationMessagePath": RESULT_PATH,
        # A crash before the result is written leaves its last log lines as the message.
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    pod_spec: JSON = {
        "restartPolicy": "Never",
        "automountServiceAccountToken": False,  # the mover never talks to the API server
        "enableServiceLinks": False,
        "terminationGracePeriodSeconds": 5,
        "activeDeadlineSeconds": int(settings.start_timeout + settings.run_timeout),
        "containers": [container],
        "volumes": volumes,
    }
    if settings.node_selector:
        pod_spec["nodeSelector"] = dict(settings.node_selector)
    if job.node:
        pod_spec["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            # The node's name, not its hostname label: on some clouds the two differ.
            "nodeSelectorTerms": [{"matchFields": [
                {"key": "metadata.name", "operator": "In", "values": [job.node]}]}]}}}
    if job.tolerations:
        pod_spec["tolerations"] = [dict(t) for t in job.tolerations]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "namespace": job.namespace, **meta},
            "spec": pod_spec}
