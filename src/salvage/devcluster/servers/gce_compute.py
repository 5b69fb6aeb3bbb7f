"""A test server for the GCE compute v1 REST API: zonal and regional disks, snapshots, zones,
regions and zone/region/global operations, enough for the ``gce-pd`` volume method. It follows the published API reference
(https://cloud.google.com/compute/docs/reference/rest/v1); it is NOT Google's service.

No official or maintained emulator of GCE compute exists, so this one is ours. What it keeps
from the reference: the resource paths and JSON shapes (``sizeGb`` as an int64 string, URLs
in ``zone``/``type``/``sourceDisk``/``selfLink``), names checked against RFC 1035 and labels
against GCE's label rules (400 ``invalid``), 404 ``notFound`` and 409 ``alreadyExists``
with Google's error body, and every mutation as an Operation that is PENDING, then RUNNING,
then DONE (with ``error`` and ``httpErrorStatusCode`` when it failed) over a few polls, with
snapshots CREATING → UPLOADING → READY and disks CREATING/RESTORING → READY meanwhile.

What it cannot prove (docs/test-servers.md): authentication and IAM (any caller, any or no
token), quotas, real timing, data in disks or snapshots, disk types per zone, a regional
disk's replication and failover (it keeps ``replicaZones``, checks them, nothing more), where snapshot data really lives (``storageLocations`` is checked and kept, nothing
more), and any behaviour the reference leaves unstated.

Run it on its own with ``python -m salvage.devcluster.servers.gce_compute --port N``, or in a
thread with :func:`serve_in_thread`. ``POST /_test/faults`` with
``{"failSnapshotsOf": ["disk-name"]}`` makes snapshots of those disks end FAILED, and
``{"lostRegions": ["us-central1"]}`` takes regions down (their zones answer 503, and a snapshot
stored only there cannot be restored): a lost region, which the reference cannot describe.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from typing import Any

from salvage.devcluster.servers import json_http
from salvage.devcluster.servers.json_http import Request, Response

BASE = "https://www.googleapis.com/compute/v1"
DEFAULT_PROJECTS = ("salvage-test",)
DEFAULT_ZONES = ("us-central1-a", "us-central1-b", "us-central1-c", "europe-west1-b", "us-east1-b", "us-east1-c")
# Multi-regional snapshot storage locations (the reference: "regional or multi-regional").
MULTI_REGIONS = ("us", "eu", "asia")
DISK_TYPES = ("pd-standard", "pd-balanced", "pd-ssd", "pd-extreme")
_NAME = re.compile(r"^[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?$")
_LABEL_KEY = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_LABEL_VALUE = re.compile(r"^[a-z0-9_-]{0,63}$")
_ids = itertools.count(1_000_000_000_000)

JSON = dict[str, Any]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message

    def body(self) -> JSON:
        return {"error": {"code": self.code, "message": self.message,
                          "errors": [{"message": self.message, "domain": "global", "reason": self.reason}]}}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Operation:
    """A long-running operation: DONE after ``polls`` reads; ``finish`` runs then (and may fail)."""

    resource: JSON
    polls: int
    finish: Any = None  # Callable[[], None]; raises ApiError to fail the operation

    def advance(self) -> None:
        if self.resource["status"] == "DONE":
            return
        self.polls -= 1
        if self.polls > 0:
            self.resource.update(status="RUNNING", progress=50)
            return
        try:
            if self.finish:
                self.finish()
        except ApiError as exc:
            self.resource.update(error={"errors": [{"code": exc.reason.upper(), "message": exc.message}]},
                                 httpErrorStatusCode=exc.code, httpErrorMessage=exc.reason.upper())
        self.resource.update(status="DONE", progress=100, endTime=_now())


@dataclass
class ComputeState:
    """Everything the server holds; ``polls`` is how many operation reads until DONE."""

    projects: tuple[str, ...] = DEFAULT_PROJECTS
    zones: tuple[str, ...] = DEFAULT_ZONES
    polls: int = 2
    disks: dict[tuple[str, str, str], JSON] = field(default_factory=dict)
    region_disks: dict[tuple[str, str, str], JSON] = field(default_factory=dict)  # (project, region, name)
    snapshots: dict[tuple[str, str], JSON] = field(default_factory=dict)
    operations: dict[tuple[str, str, str], Operation] = field(default_factory=dict)  # (project, zone|"", name)
    fail_snapshots_of: set[str] = field(default_factory=set)
    # A test fault, not API behaviour: regions that are down. Their zones, disks and operations
    # answer 503, and a snapshot stored only there cannot be restored from.
    lost_regions: set[str] = field(default_factory=set)
    log: bool = False  # one line per request on stdout (the process's log file)
    lock: threading.RLock = field(default_factory=threading.RLock)

    # --- lookups -------------------------------------------------------------------------

    def project(self, project: str) -> None:
        if project not in self.projects:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}' was not found")

    def zone(self, project: str, zone: str) -> JSON:
        self.project(project)
        if zone not in self.zones:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}/zones/{zone}' was not found")
        region = zone.rsplit("-", 1)[0]
        if region in self.lost_regions:
            raise ApiError(503, "backendError", f"Zone {zone} is not available (region {region} is down: a "
                                                "test fault).")
        return {"kind": "compute#zone", "id": str(abs(hash(zone)) % 10**12), "name": zone, "status": "UP",
                "region": f"{BASE}/projects/{project}/regions/{region}",
                "selfLink": f"{BASE}/projects/{project}/zones/{zone}"}

    def region(self, project: str, region: str) -> JSON:
        self.project(project)
        zones = [z for z in self.zones if z.rsplit("-", 1)[0] == region]
        if not zones:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}/regions/{region}' was not found")
        return {"kind": "compute#region", "id": str(abs(hash(region)) % 10**12), "name": region,
                "status": "DOWN" if region in self.lost_regions else "UP",
                "zones": [f"{BASE}/projects/{project}/zones/{z}" for z in zones],
                "selfLink": f"{BASE}/projects/{project}/regions/{region}"}

    def disk(self, project: str, zone: str, name: str) -> JSON:
        self.zone(project, zone)
        found = self.disks.get((project, zone, name))
        if found is None:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}/zones/{zone}/disks/{name}' was not found")
        return found

    def snapshot(self, project: str, name: str) -> JSON:
        self.project(project)
        found = self.snapshots.get((project, name))
        if found is None:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}/global/snapshots/{name}' was not found")
        return found

    def region_disk(self, project: str, region: str, name: str) -> JSON:
        self.region(project, region)
        found = self.region_disks.get((project, region, name))
        if found is None:
            raise ApiError(404, "notFound", f"The resource 'projects/{project}/regions/{region}/disks/{name}' was "
                                            "not found")
        return found

    def operation(self, project: str, zone: str, name: str) -> JSON:
        if zone.startswith("regions/"):
            self.region(project, zone.removeprefix("regions/"))
        elif zone:
            self.zone(project, zone)
        else:
            self.project(project)
        found = self.operations.get((project, zone, name))
        if found is None:
            where = f"zones/{zone}" if zone else "global"
            raise ApiError(404, "notFound", f"The resource 'projects/{project}/{where}/operations/{name}' was not found")
        found.advance()
        return found.resource

    # --- mutations ------------------------------------------------------------------------

    def start(self, project: str, zone: str, kind: str, target: str, finish: Any = None) -> JSON:
        """An operation in ``zone``, in a region (``regions/R``) or, with neither, global."""
        name = f"operation-{next(_ids)}-{kind}"
        scope = zone if zone.startswith("regions/") else f"zones/{zone}"
        where = f"{BASE}/projects/{project}/{scope}" if zone else f"{BASE}/projects/{project}/global"
        resource: JSON = {"kind": "compute#operation", "id": str(next(_ids)), "name": name,
                          "operationType": kind, "targetLink": target, "status": "PENDING", "progress": 0,
                          "insertTime": _now(), "startTime": _now(),
                          "selfLink": f"{where}/operations/{name}",
                          **({scope.split("/")[0][:-1]: f"{BASE}/projects/{project}/{scope}"} if zone else {})}
        self.operations[(project, zone, name)] = Operation(resource, self.polls, finish)
        return resource

    def insert_disk(self, project: str, zone: str, body: JSON) -> JSON:
        self.zone(project, zone)
        name, labels = _new_disk(body, self.disks, project, "zones", zone)
        kind = str(body.get("type") or f"zones/{zone}/diskTypes/pd-standard").rsplit("/", 1)[-1]
        if kind not in DISK_TYPES:
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.type': '{body.get('type')}'. "
                                           "The referenced diskType resource cannot be found.")
        source = self._restorable(body, project)
        size = int(body.get("sizeGb") or (source["diskSizeGb"] if source else 500))
        if source and size < int(source["diskSizeGb"]):
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.sizeGb': '{size}'. Requested disk "
                                           f"size cannot be smaller than the snapshot size ({source['diskSizeGb']} GB).")
        link = f"{BASE}/projects/{project}/zones/{zone}/disks/{name}"
        disk: JSON = {"kind": "compute#disk", "id": str(next(_ids)), "name": name, "sizeGb": str(size),
                      "zone": f"{BASE}/projects/{project}/zones/{zone}", "status": "RESTORING" if source else "CREATING",
                      "type": f"{BASE}/projects/{project}/zones/{zone}/diskTypes/{kind}", "selfLink": link,
                      "creationTimestamp": _now(), "labels": labels, "labelFingerprint": _fingerprint(labels),
                      "physicalBlockSizeBytes": "4096"}
        if body.get("description"):
            disk["description"] = body["description"]
        if source:
            disk.update(sourceSnapshot=source["selfLink"], sourceSnapshotId=source["id"])
        if (body.get("diskEncryptionKey") or {}).get("kmsKeyName"):
            disk["diskEncryptionKey"] = {"kmsKeyName": body["diskEncryptionKey"]["kmsKeyName"]}
        self.disks[(project, zone, name)] = disk
        return self.start(project, zone, "insert", link, lambda: disk.update(status="READY"))

    def insert_region_disk(self, project: str, region: str, body: JSON) -> JSON:
        """A regional disk: replicated in the two ``replicaZones`` of its region (the reference:
        exactly two; pd-standard, pd-balanced or pd-ssd; a regional pd-standard of 200 GB or more)."""
        self.region(project, region)
        name, labels = _new_disk(body, self.region_disks, project, "regions", region)
        zones = [str(z).rsplit("/", 1)[-1] for z in body.get("replicaZones") or []]
        if len(set(zones)) != 2 or any(z not in self.zones or z.rsplit("-", 1)[0] != region for z in zones):
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.replicaZones': '{zones}'. Exactly two "
                                           f"distinct zones of region {region} are required.")
        for zone in zones:
            self.zone(project, zone)
        kind = str(body.get("type") or f"regions/{region}/diskTypes/pd-standard").rsplit("/", 1)[-1]
        if kind not in DISK_TYPES[:3]:
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.type': '{body.get('type')}'. "
                                           "The referenced diskType resource cannot be found.")
        source = self._restorable(body, project)
        size = int(body.get("sizeGb") or (source["diskSizeGb"] if source else 500))
        if kind == "pd-standard" and size < 200:
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.sizeGb': '{size}'. Regional "
                                           "pd-standard disks must be at least 200 GB.")
        link = f"{BASE}/projects/{project}/regions/{region}/disks/{name}"
        disk: JSON = {"kind": "compute#disk", "id": str(next(_ids)), "name": name, "sizeGb": str(size),
                      "region": f"{BASE}/projects/{project}/regions/{region}",
                      "replicaZones": [f"{BASE}/projects/{project}/zones/{z}" for z in zones],
                      "status": "RESTORING" if source else "CREATING",
                      "type": f"{BASE}/projects/{project}/regions/{region}/diskTypes/{kind}", "selfLink": link,
                      "creationTimestamp": _now(), "labels": labels, "labelFingerprint": _fingerprint(labels)}
        if source:
            disk.update(sourceSnapshot=source["selfLink"], sourceSnapshotId=source["id"])
        if (body.get("diskEncryptionKey") or {}).get("kmsKeyName"):
            disk["diskEncryptionKey"] = {"kmsKeyName": body["diskEncryptionKey"]["kmsKeyName"]}
        self.region_disks[(project, region, name)] = disk
        return self.start(project, f"regions/{region}", "insert", link, lambda: disk.update(status="READY"))

    def _restorable(self, body: JSON, project: str) -> JSON | None:
        if not body.get("sourceSnapshot"):
            return None
        source = self.snapshot(*_snapshot_path(str(body["sourceSnapshot"]), project))
        if source["status"] != "READY":
            raise ApiError(400, "resourceNotReady", f"The resource '{source['selfLink']}' is not ready")
        if all(location in self.lost_regions for location in source["storageLocations"]):
            raise ApiError(503, "backendError", f"The data of '{source['selfLink']}' is stored only in "
                                                f"{', '.join(source['storageLocations'])}, which is down "
                                                "(a test fault).")
        return source

    def delete_region_disk(self, project: str, region: str, name: str) -> JSON:
        disk = self.region_disk(project, region, name)
        disk["status"] = "DELETING"
        return self.start(project, f"regions/{region}", "delete", disk["selfLink"],
                          lambda: self.region_disks.pop((project, region, name), None))

    def delete_disk(self, project: str, zone: str, name: str) -> JSON:
        disk = self.disk(project, zone, name)
        disk["status"] = "DELETING"
        return self.start(project, zone, "delete", disk["selfLink"],
                          lambda: self.disks.pop((project, zone, name), None))

    def create_snapshot(self, project: str, zone: str, disk_name: str, body: JSON) -> JSON:
        disk = self.disk(project, zone, disk_name)
        return self._snapshot_of(project, zone, disk, body, "createSnapshot")

    def insert_snapshot(self, project: str, body: JSON) -> JSON:
        self.project(project)
        source = str(body.get("sourceDisk") or "")
        match = re.search(r"projects/([^/]+)/(zones|regions)/([^/]+)/disks/([^/]+)$", source)
        if not match:
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.sourceDisk': '{source}'.")
        p, scope, where, name = match.groups()
        disk = self.disk(p, where, name) if scope == "zones" else self.region_disk(p, where, name)
        return self._snapshot_of(project, "", disk, body, "insert")

    def _snapshot_of(self, project: str, zone: str, disk: JSON, body: JSON, kind: str) -> JSON:
        name = _checked_name(body.get("name"), "snapshot")
        labels = _checked_labels(body.get("labels"))
        if (project, name) in self.snapshots:
            raise ApiError(409, "alreadyExists", f"The resource 'projects/{project}/global/snapshots/{name}' "
                                                 "already exists")
        home = (disk.get("zone") or disk.get("region") or "").rsplit("/", 1)[-1]
        locations = list(body.get("storageLocations") or [home[:2]])
        known = {z.rsplit("-", 1)[0] for z in self.zones} | set(MULTI_REGIONS)
        if len(locations) != 1 or locations[0] not in known:
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.storageLocations': '{locations}'. "
                                           "Exactly one regional or multi-regional location is allowed.")
        link = f"{BASE}/projects/{project}/global/snapshots/{name}"
        snapshot: JSON = {"kind": "compute#snapshot", "id": str(next(_ids)), "name": name, "status": "CREATING",
                          "sourceDisk": disk["selfLink"], "sourceDiskId": disk["id"], "diskSizeGb": disk["sizeGb"],
                          "storageBytes": "0", "storageBytesStatus": "UPDATING", "labels": labels,
                          "labelFingerprint": _fingerprint(labels), "selfLink": link, "creationTimestamp": _now(),
                          "snapshotType": "STANDARD", "storageLocations": locations}
        if body.get("description"):
            snapshot["description"] = body["description"]
        if (disk.get("diskEncryptionKey") or {}).get("kmsKeyName"):
            snapshot["snapshotEncryptionKey"] = dict(disk["diskEncryptionKey"])
        self.snapshots[(project, name)] = snapshot
        failing = disk["name"] in self.fail_snapshots_of

        def finish() -> None:
            if failing:
                snapshot["status"] = "FAILED"
                raise ApiError(500, "internalError", f"Snapshot {name} of disk {disk['name']} failed.")
            snapshot.update(status="READY", storageBytesStatus="UP_TO_DATE")

        operation = self.start(project, zone, kind, link, finish)
        snapshot["status"] = "UPLOADING" if not failing else "CREATING"
        return operation

    def delete_snapshot(self, project: str, name: str) -> JSON:
        snapshot = self.snapshot(project, name)
        snapshot["status"] = "DELETING"
        return self.start(project, "", "delete", snapshot["selfLink"],
                          lambda: self.snapshots.pop((project, name), None))

    def set_labels(self, resource: JSON, body: JSON, project: str, zone: str) -> JSON:
        if body.get("labelFingerprint") != resource["labelFingerprint"]:
            raise ApiError(412, "conditionNotMet", "Labels fingerprint either invalid or resource labels have changed")
        labels = _checked_labels(body.get("labels"))
        return self.start(project, zone, "setLabels", resource["selfLink"],
                          lambda: resource.update(labels=labels, labelFingerprint=_fingerprint(labels)))


def _new_disk(body: JSON, table: dict[tuple[str, str, str], JSON], project: str, scope: str, where: str
              ) -> tuple[str, dict[str, str]]:
    """A new disk's checked name and labels; 409 when ``table`` has that name in ``where``."""
    name = _checked_name(body.get("name"), "disk")
    labels = _checked_labels(body.get("labels"))
    if (project, where, name) in table:
        raise ApiError(409, "alreadyExists", f"The resource 'projects/{project}/{scope}/{where}/disks/{name}' "
                                             "already exists")
    return name, labels


def _checked_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME.match(name):
        raise ApiError(400, "invalid", f"Invalid value for field 'resource.name': '{name}'. Must be a match of regex "
                                       "'(?:[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?)'")
    return name


def _checked_labels(labels: Any) -> dict[str, str]:
    labels = dict(labels or {})
    for key, value in labels.items():
        if not _LABEL_KEY.match(key) or not isinstance(value, str) or not _LABEL_VALUE.match(value):
            raise ApiError(400, "invalid", f"Invalid value for field 'resource.labels': '{key}={value}'. Label keys "
                                           "and values may contain only lowercase letters, digits, '_' and '-'.")
    return labels


def _fingerprint(labels: dict[str, str]) -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(json.dumps(labels, sort_keys=True).encode()).digest()[:8]).decode()


def _snapshot_path(reference: str, default_project: str) -> tuple[str, str]:
    """``global/snapshots/S``, ``projects/P/global/snapshots/S`` or a full URL."""
    match = re.search(r"(?:projects/([^/]+)/)?global/snapshots/([^/]+)$", reference)
    if not match:
        raise ApiError(400, "invalid", f"Invalid value for field 'resource.sourceSnapshot': '{reference}'.")
    return match.group(1) or default_project, match.group(2)


_ROUTES: list[tuple[str, re.Pattern[str], str]] = [
    (method, re.compile("^/compute/v1/projects/(?P<project>[^/]+)/" + path + "$"), action)
    for method, path, action in [
        ("GET", r"zones/(?P<zone>[^/]+)", "zone"),
        ("GET", r"regions/(?P<region>[^/]+)", "region"),
        ("GET", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)", "get_disk"),
        ("POST", r"zones/(?P<zone>[^/]+)/disks", "insert_disk"),
        ("DELETE", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)", "delete_disk"),
        ("POST", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)/createSnapshot", "create_snapshot"),
        ("POST", r"zones/(?P<zone>[^/]+)/disks/(?P<disk>[^/]+)/setLabels", "label_disk"),
        ("GET", r"regions/(?P<region>[^/]+)/disks/(?P<disk>[^/]+)", "get_region_disk"),
        ("POST", r"regions/(?P<region>[^/]+)/disks", "insert_region_disk"),
        ("DELETE", r"regions/(?P<region>[^/]+)/disks/(?P<disk>[^/]+)", "delete_region_disk"),
        ("POST", r"regions/(?P<region>[^/]+)/disks/(?P<disk>[^/]+)/createSnapshot", "create_region_snapshot"),
        ("GET", r"regions/(?P<region>[^/]+)/operations/(?P<operation>[^/]+)", "region_operation"),
        ("POST", r"regions/(?P<region>[^/]+)/operations/(?P<operation>[^/]+)/wait", "wait_region_operation"),
        ("GET", r"global/snapshots/(?P<snapshot>[^/]+)", "get_snapshot"),
        ("POST", r"global/snapshots", "insert_snapshot"),
        ("DELETE", r"global/snapshots/(?P<snapshot>[^/]+)", "delete_snapshot"),
        ("POST", r"global/snapshots/(?P<snapshot>[^/]+)/setLabels", "label_snapshot"),
        ("GET", r"zones/(?P<zone>[^/]+)/operations/(?P<operation>[^/]+)", "zone_operation"),
        ("POST", r"zones/(?P<zone>[^/]+)/operations/(?P<operation>[^/]+)/wait", "wait_zone_operation"),
        ("GET", r"global/operations/(?P<operation>[^/]+)", "global_operation"),
        ("POST", r"global/operations/(?P<operation>[^/]+)/wait", "wait_global_operation"),
    ]
]


def dispatch(state: ComputeState, method: str, path: str, body: JSON) -> JSON:
    """Answer one request; raises :class:`ApiError` with the API's status and reason."""
    for verb, pattern, action in _ROUTES:
        match = pattern.match(path)
        if verb == method and match:
            a = match.groupdict()
            p, z = a["project"], a.get("zone", "")
            with state.lock:
                return _ACTIONS[action](state, p, z, a, body)
    raise ApiError(404, "notFound", f"The requested URL {path} was not found on this server.")


def _wait(state: ComputeState, p: str, z: str, operation: str) -> JSON:
    # The reference: wait returns when the operation is DONE or after about two minutes. Here
    # each wait advances the operation to DONE (a test server has nothing to wait for).
    resource = state.operation(p, z, operation)
    while resource["status"] != "DONE":
        resource = state.operation(p, z, operation)
    return resource


_ACTIONS: dict[str, Any] = {
    "zone": lambda s, p, z, a, b: s.zone(p, z),
    "region": lambda s, p, z, a, b: s.region(p, a["region"]),
    "get_disk": lambda s, p, z, a, b: s.disk(p, z, a["disk"]),
    "insert_disk": lambda s, p, z, a, b: s.insert_disk(p, z, b),
    "delete_disk": lambda s, p, z, a, b: s.delete_disk(p, z, a["disk"]),
    "create_snapshot": lambda s, p, z, a, b: s.create_snapshot(p, z, a["disk"], b),
    "label_disk": lambda s, p, z, a, b: s.set_labels(s.disk(p, z, a["disk"]), b, p, z),
    "get_region_disk": lambda s, p, z, a, b: s.region_disk(p, a["region"], a["disk"]),
    "insert_region_disk": lambda s, p, z, a, b: s.insert_region_disk(p, a["region"], b),
    "delete_region_disk": lambda s, p, z, a, b: s.delete_region_disk(p, a["region"], a["disk"]),
    "create_region_snapshot": lambda s, p, z, a, b: s._snapshot_of(
        p, f"regions/{a['region']}", s.region_disk(p, a["region"], a["disk"]), b, "createSnapshot"),
    "region_operation": lambda s, p, z, a, b: s.operation(p, f"regions/{a['region']}", a["operation"]),
    "wait_region_operation": lambda s, p, z, a, b: _wait(s, p, f"regions/{a['region']}", a["operation"]),
    "get_snapshot": lambda s, p, z, a, b: s.snapshot(p, a["snapshot"]),
    "insert_snapshot": lambda s, p, z, a, b: s.insert_snapshot(p, b),
    "delete_snapshot": lambda s, p, z, a, b: s.delete_snapshot(p, a["snapshot"]),
    "label_snapshot": lambda s, p, z, a, b: s.set_labels(s.snapshot(p, a["snapshot"]), b, p, ""),
    "zone_operation": lambda s, p, z, a, b: s.operation(p, z, a["operation"]),
    "wait_zone_operation": lambda s, p, z, a, b: _wait(s, p, z, a["operation"]),
    "global_operation": lambda s, p, z, a, b: s.operation(p, "", a["operation"]),
    "wait_global_operation": lambda s, p, z, a, b: _wait(s, p, "", a["operation"]),
}


def answer(state: ComputeState, request: Request, base: str = "") -> Response:
    """One request, as compute v1 would answer it (json_http serves it)."""
    if request.path == "/_test/faults" and request.method == "POST":
        with state.lock:
            state.fail_snapshots_of = set(request.body.get("failSnapshotsOf") or [])
            state.lost_regions = set(request.body.get("lostRegions") or [])
        return Response(200, {"failSnapshotsOf": sorted(state.fail_snapshots_of),
                              "lostRegions": sorted(state.lost_regions)})
    if request.path == "/" and request.method == "GET":
        return Response(200, {"server": "salvage gce-compute test server"})
    try:
        if "_unparsable" in request.body:
            raise ValueError("the body is not JSON")
        return Response(200, dispatch(state, request.method, request.path, request.body))
    except ApiError as exc:
        return Response(exc.code, exc.body())
    except (ValueError, KeyError) as exc:
        return Response(400, ApiError(400, "parseError", f"Parse Error: {exc}").body())


def make_server(state: ComputeState, port: int = 0) -> ThreadingHTTPServer:
    server, _, _ = json_http.make_server(lambda request, base: answer(state, request, base), port, log=state.log)
    return server


@contextmanager
def serve_in_thread(state: ComputeState | None = None) -> Iterator[tuple[str, ComputeState]]:
    """The server on a free loopback port in this process: yields its endpoint and state."""
    state = state or ComputeState()
    with json_http.serve_in_thread(lambda request, base: answer(state, request, base), name="gce-compute") as (
            endpoint, _):
        yield endpoint, state


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--project", action="append", help="a project that exists (repeat; default salvage-test)")
    parser.add_argument("--polls", type=int, default=2, help="operation reads until DONE")
    args = parser.parse_args()
    state = ComputeState(projects=tuple(args.project or DEFAULT_PROJECTS), polls=args.polls, log=True)
    make_server(state, args.port).serve_forever()


if __name__ == "__main__":
    main()
