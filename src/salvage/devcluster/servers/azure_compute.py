"""A test server for Azure Resource Manager's ``Microsoft.Compute`` disks and snapshots, enough
for the ``azure-disk`` volume method. It follows the published REST reference
(https://learn.microsoft.com/rest/api/compute/disks, .../snapshots, and ARM's asynchronous
operations guide); it is NOT Azure.

No official or maintained emulator of Azure compute exists (Azurite is storage only), so
this one is ours. What it keeps from the reference: HTTPS only (the SDK refuses a bearer
token over plain HTTP), a bearer token required (401 ``AuthenticationFailed``), the
``api-version`` query parameter required (400 ``MissingApiVersionParameter``), resource IDs
and JSON shapes (``sku``, ``zones``, ``properties.creationData``, ``diskSizeGB``,
``encryption``, ``provisioningState``), ARM's error body ``{"error": {"code", "message"}}``
with its codes (``SubscriptionNotFound``, ``ResourceGroupNotFound``, ``ResourceNotFound``,
``InvalidParameter``, ``OperationNotAllowed`` for quota), and every PUT and DELETE as a
long-running operation: 202 (200 for a PUT over an existing one) with ``Azure-AsyncOperation`` (and ``Location`` for DELETE)
headers, the operation ``InProgress`` for a few reads, then ``Succeeded`` or ``Failed``.

What it cannot prove (docs/test-servers.md): Entra ID tokens and RBAC (any bearer token is
accepted), real quotas and timing, data in disks or snapshots, SKUs per region and zone,
disk encryption sets' existence, the time a cross-region copy (``CopyStart``) takes (it
completes over two reads) and whether its data arrives, and anything the reference leaves
unstated. ``POST /_test/faults`` with ``{"failSnapshotsOf": ["disk"], "quotaGiB": N,
"lostRegions": ["eastus"]}`` makes snapshots of those disks fail, disk creation beyond N GiB
in all fail with a quota error, and the resources of those regions answer 503 (a lost region,
which the reference cannot describe).
"""

from __future__ import annotations

import argparse
import itertools
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from salvage.devcluster.servers.json_http import JSON, Request, Response, make_server

SUBSCRIPTION = "00000000-0000-0000-0000-00000000c0de"
DEFAULT_GROUPS = ("salvage-test",)
REGIONS = ("westeurope", "eastus", "northeurope")
DISK_SKUS = ("Standard_LRS", "StandardSSD_LRS", "Premium_LRS", "UltraSSD_LRS", "PremiumV2_LRS",
             "StandardSSD_ZRS", "Premium_ZRS")
SNAPSHOT_SKUS = ("Standard_LRS", "Standard_ZRS", "Premium_LRS")
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,78}[A-Za-z0-9_]$|^[A-Za-z0-9_]$")
_PATH = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<group>[^/]+)/providers/Microsoft\.Compute/"
                   r"(?P<kind>disks|snapshots)/(?P<name>[^/]+)$", re.I)
_OPERATION = re.compile(r"^/subscriptions/(?P<sub>[^/]+)/providers/Microsoft\.Compute/locations/(?P<region>[^/]+)/"
                        r"operations/(?P<id>[^/]+)$", re.I)
_ids = itertools.count(1)


class ArmError(Exception):
    def __init__(self, status: int, code: str, message: str, target: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.target = status, code, message, target

    def response(self) -> Response:
        error: JSON = {"code": self.code, "message": self.message}
        if self.target:
            error["target"] = self.target
        return Response(self.status, {"error": error})


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Operation:
    """InProgress for ``polls`` reads; then ``finish`` runs (ArmError fails the operation)."""

    polls: int
    finish: Any
    status: str = "InProgress"
    error: JSON | None = None
    started: str = field(default_factory=_now)

    def read(self, op_id: str) -> JSON:
        if self.status == "InProgress":
            self.polls -= 1
            if self.polls <= 0:
                try:
                    self.finish()
                    self.status = "Succeeded"
                except ArmError as exc:
                    self.status, self.error = "Failed", {"code": exc.code, "message": exc.message}
        body: JSON = {"name": op_id, "status": self.status, "startTime": self.started}
        if self.status != "InProgress":
            body["endTime"] = _now()
        if self.error:
            body["error"] = self.error
        return body


@dataclass
class ArmState:
    """Everything the server holds, by lower-cased resource ID (ARM IDs are case-insensitive)."""

    subscriptions: tuple[str, ...] = (SUBSCRIPTION,)
    groups: tuple[str, ...] = DEFAULT_GROUPS
    polls: int = 2
    resources: dict[str, JSON] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)
    fail_snapshots_of: set[str] = field(default_factory=set)
    quota_gib: int | None = None
    # A test fault, not API behaviour: regions that are down; their resources answer 503.
    lost_regions: set[str] = field(default_factory=set)
    # CopyStart snapshots still copying: reads left until completionPercent reaches 100.
    copying: dict[str, int] = field(default_factory=dict)
    retry_after: int = 0  # the Retry-After seconds the SDK's poller honours
    requests: list[tuple[str, str]] = field(default_factory=list)  # (method, path), for tests
    lock: threading.RLock = field(default_factory=threading.RLock)

    def resource(self, sub: str, group: str, kind: str, name: str) -> JSON:
        self._group(sub, group)
        found = self.resources.get(_rid(sub, group, kind, name).lower())
        if found is None:
            raise ArmError(404, "ResourceNotFound", f"The Resource 'Microsoft.Compute/{kind}/{name}' under resource "
                                                   f"group '{group}' was not found.")
        if found["location"] in self.lost_regions:
            raise ArmError(503, "ServiceUnavailable", f"Region '{found['location']}' is not available (a test fault).")
        return found

    def read(self, sub: str, group: str, kind: str, name: str) -> JSON:
        """A GET: a CopyStart snapshot's background copy moves on by half at each read."""
        found = self.resource(sub, group, kind, name)
        rid = found["id"].lower()
        if rid in self.copying and found["properties"]["provisioningState"] == "Succeeded":
            self.copying[rid] -= 1
            found["properties"]["completionPercent"] = 100.0 if self.copying[rid] <= 0 else 50.0
            if self.copying[rid] <= 0:
                del self.copying[rid]
        return found

    def put(self, sub: str, group: str, kind: str, name: str, body: JSON, base: str) -> Response:
        self._group(sub, group)
        if not _NAME.match(name):
            raise ArmError(400, "InvalidParameter", f"The name '{name}' is not valid.", target="name")
        region = str(body.get("location") or "").lower().replace(" ", "")
        if region not in REGIONS:
            raise ArmError(400, "LocationNotAvailableForResourceType",
                           f"The provided location '{body.get('location')}' is not available for resource type "
                           f"'Microsoft.Compute/{kind}'. List of available regions is '{','.join(REGIONS)}'.")
        if region in self.lost_regions:
            raise ArmError(503, "ServiceUnavailable", f"Region '{region}' is not available (a test fault).")
        rid = _rid(sub, group, kind, name)
        existed = rid.lower() in self.resources
        make = self._disk if kind.lower() == "disks" else self._snapshot
        resource, finish = make(sub, group, rid, region, body)
        resource.update(id=rid, name=name, type=f"Microsoft.Compute/{kind}", location=region,
                        tags=dict(body.get("tags") or {}))
        resource["properties"].update(provisioningState="Updating", timeCreated=_now(), uniqueId=str(uuid.uuid4()))
        self.resources[rid.lower()] = resource

        def done() -> None:
            finish()
            resource["properties"]["provisioningState"] = "Succeeded"

        return Response(200 if existed else 202, resource, self._started(sub, region, done, base))

    def delete(self, sub: str, group: str, kind: str, name: str, base: str) -> Response:
        self._group(sub, group)
        rid = _rid(sub, group, kind, name).lower()
        if rid not in self.resources:
            return Response(204)
        resource = self.resources[rid]
        resource["properties"]["provisioningState"] = "Deleting"
        headers = self._started(sub, resource["location"], lambda: self.resources.pop(rid, None), base)
        return Response(202, None, {**headers, "Location": headers["Azure-AsyncOperation"]})

    def operation(self, sub: str, op_id: str) -> JSON:
        self._subscription(sub)
        found = self.operations.get(op_id)
        if found is None:
            raise ArmError(404, "ResourceNotFound", f"The operation '{op_id}' was not found.")
        return found.read(op_id)

    # --- the two kinds ---------------------------------------------------------------------

    def _disk(self, sub: str, group: str, rid: str, region: str, body: JSON) -> tuple[JSON, Any]:
        props = body.get("properties") or {}
        sku = str((body.get("sku") or {}).get("name") or "Standard_LRS")
        if sku not in DISK_SKUS:
            raise ArmError(400, "InvalidParameter", f"The value '{sku}' of parameter 'sku.name' is not valid.",
                           target="sku.name")
        creation = props.get("creationData") or {}
        option = creation.get("createOption")
        size = props.get("diskSizeGB")
        if option == "Copy":
            source = self._by_id(str(creation.get("sourceResourceId") or ""))
            if source["properties"]["provisioningState"] != "Succeeded" or \
                    source["properties"].get("completionPercent", 100) < 100:
                raise ArmError(409, "Conflict", f"The source '{source['id']}' is not ready to copy from.")
            if source["location"] != region:
                raise ArmError(400, "InvalidParameter", f"The source '{source['id']}' is in '{source['location']}'; "
                                                        f"a disk in '{region}' cannot be copied from it.",
                               target="creationData.sourceResourceId")
            size = size or source["properties"]["diskSizeGB"]
            if int(size) < int(source["properties"]["diskSizeGB"]):
                raise ArmError(400, "InvalidParameter", "The disk size cannot be smaller than the source's.",
                               target="diskSizeGB")
        elif option != "Empty":
            raise ArmError(400, "InvalidParameter", f"createOption '{option}' is not supported here.",
                           target="creationData.createOption")
        if not size:
            raise ArmError(400, "InvalidParameter", "diskSizeGB is required for an empty disk.", target="diskSizeGB")
        used = sum(int(r["properties"]["diskSizeGB"]) for r in self.resources.values()
                   if r["type"] == "Microsoft.Compute/disks")
        if self.quota_gib is not None and used + int(size) > self.quota_gib:
            raise ArmError(409, "OperationNotAllowed", f"Operation could not be completed as it results in "
                                                       f"exceeding approved Total Regional Storage quota "
                                                       f"({self.quota_gib} GiB).")
        disk: JSON = {"sku": {"name": sku, "tier": sku.split("_")[0]},
                      "properties": {"creationData": dict(creation), "diskSizeGB": int(size),
                                     "diskSizeBytes": int(size) << 30, "diskState": "Unattached",
                                     "encryption": _encryption(props)}}
        if body.get("zones"):
            disk["zones"] = [str(z) for z in body["zones"]]
        return disk, lambda: None

    def _snapshot(self, sub: str, group: str, rid: str, region: str, body: JSON) -> tuple[JSON, Any]:
        props = body.get("properties") or {}
        sku = str((body.get("sku") or {}).get("name") or "Standard_LRS")
        if sku not in SNAPSHOT_SKUS:
            raise ArmError(400, "InvalidParameter", f"The value '{sku}' of parameter 'sku.name' is not valid.",
                           target="sku.name")
        creation = props.get("creationData") or {}
        if creation.get("createOption") not in ("Copy", "CopyStart"):
            raise ArmError(400, "InvalidParameter", "A snapshot is a copy: createOption must be 'Copy' or "
                                                    "'CopyStart'.", target="creationData.createOption")
        source = self._by_id(str(creation.get("sourceResourceId") or ""))
        if creation.get("createOption") == "CopyStart":
            return self._copy_start(rid, region, props, sku, creation, source)
        if source["location"] != region:
            raise ArmError(400, "InvalidParameter", f"The source '{source['id']}' is in '{source['location']}'.",
                           target="creationData.sourceResourceId")
        snapshot: JSON = {"sku": {"name": sku, "tier": "Standard"},
                          "properties": {"creationData": {**creation, "sourceUniqueId":
                                                          source["properties"].get("uniqueId")},
                                         "diskSizeGB": source["properties"]["diskSizeGB"],
                                         "incremental": bool(props.get("incremental")), "completionPercent": 0.0,
                                         "encryption": _encryption(props) if props.get("encryption")
                                         else dict(source["properties"]["encryption"])}}
        failing = source["name"] in self.fail_snapshots_of

        def finish() -> None:
            if failing:
                snapshot["properties"]["provisioningState"] = "Failed"
                raise ArmError(500, "InternalOperationError", f"Snapshot of disk {source['name']} failed.")
            snapshot["properties"]["completionPercent"] = 100.0

        return snapshot, finish

    def _copy_start(self, rid: str, region: str, props: JSON, sku: str, creation: JSON, source: JSON
                    ) -> tuple[JSON, Any]:
        """The reference's cross-region copy of an incremental snapshot: the source must be an
        incremental snapshot in another region, the copy incremental too; once the operation
        succeeds the data goes on copying (``completionPercent``), and a disk cannot be made from
        the copy until it reaches 100."""
        if source["type"] != "Microsoft.Compute/snapshots" or not source["properties"].get("incremental"):
            raise ArmError(400, "InvalidParameter", "CopyStart copies an incremental snapshot only.",
                           target="creationData.sourceResourceId")
        if not props.get("incremental"):
            raise ArmError(400, "InvalidParameter", "A CopyStart snapshot must be incremental.", target="incremental")
        if source["location"] == region:
            raise ArmError(400, "InvalidParameter", "CopyStart copies to another region; the source is in "
                                                    f"'{region}' already.", target="location")
        if source["properties"].get("completionPercent", 100) < 100:
            raise ArmError(409, "Conflict", f"The source '{source['id']}' is still being copied.")
        copy: JSON = {"sku": {"name": sku, "tier": "Standard"},
                      "properties": {"creationData": {**creation, "sourceUniqueId": source["properties"].get("uniqueId")},
                                     "diskSizeGB": source["properties"]["diskSizeGB"], "incremental": True,
                                     "completionPercent": 0.0,
                                     "encryption": _encryption(props) if props.get("encryption")
                                     else {"type": "EncryptionAtRestWithPlatformKey"}}}
        self.copying[rid.lower()] = 3
        return copy, lambda: None

    # --- lookups ---------------------------------------------------------------------------

    def _by_id(self, rid: str) -> JSON:
        match = _PATH.match(rid)
        if not match:
            raise ArmError(400, "InvalidParameter", f"'{rid}' is not a disk or snapshot resource ID.",
                           target="creationData.sourceResourceId")
        return self.resource(match["sub"], match["group"], match["kind"], match["name"])

    def _subscription(self, sub: str) -> None:
        if sub not in self.subscriptions:
            raise ArmError(404, "SubscriptionNotFound", f"The subscription '{sub}' could not be found.")

    def _group(self, sub: str, group: str) -> None:
        self._subscription(sub)
        if group.lower() not in (g.lower() for g in self.groups):
            raise ArmError(404, "ResourceGroupNotFound", f"Resource group '{group}' could not be found.")

    def _started(self, sub: str, region: str, finish: Any, base: str) -> dict[str, str]:
        op_id = f"{uuid.uuid4()}"
        self.operations[op_id] = Operation(self.polls, finish)
        url = (f"{base}/subscriptions/{sub}/providers/Microsoft.Compute/locations/{region}/operations/{op_id}"
               "?api-version=2024-03-02")
        return {"Azure-AsyncOperation": url, "Retry-After": str(self.retry_after)}


def _rid(sub: str, group: str, kind: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{group}/providers/Microsoft.Compute/{kind.lower()}/{name}"


def _encryption(props: JSON) -> JSON:
    asked = props.get("encryption") or {}
    kind = asked.get("type") or "EncryptionAtRestWithPlatformKey"
    if kind not in ("EncryptionAtRestWithPlatformKey", "EncryptionAtRestWithCustomerKey",
                    "EncryptionAtRestWithPlatformAndCustomerKeys"):
        raise ArmError(400, "InvalidParameter", f"Encryption type '{kind}' is not valid.", target="encryption.type")
    if kind != "EncryptionAtRestWithPlatformKey" and not asked.get("diskEncryptionSetId"):
        raise ArmError(400, "InvalidParameter", "A customer-managed key needs diskEncryptionSetId.",
                       target="encryption.diskEncryptionSetId")
    return {k: v for k, v in {"type": kind, "diskEncryptionSetId": asked.get("diskEncryptionSetId")}.items() if v}


def answer(state: ArmState, request: Request, base: str) -> Response:
    """One request, as ARM would answer it."""
    with state.lock:
        state.requests.append((request.method, request.path))
        try:
            if request.path == "/_test/faults" and request.method == "POST":
                state.fail_snapshots_of = set(request.body.get("failSnapshotsOf") or [])
                state.quota_gib = request.body.get("quotaGiB")
                state.lost_regions = set(request.body.get("lostRegions") or [])
                return Response(200, {"failSnapshotsOf": sorted(state.fail_snapshots_of), "quotaGiB": state.quota_gib,
                                      "lostRegions": sorted(state.lost_regions)})
            if not request.headers.get("authorization", "").startswith("Bearer "):
                raise ArmError(401, "AuthenticationFailed", "Authentication failed. The 'Authorization' header is "
                                                            "missing.")
            if not request.query.get("api-version"):
                raise ArmError(400, "MissingApiVersionParameter", "The api-version query parameter (?api-version=) "
                                                                  "is required for all requests.")
            if (match := _OPERATION.match(request.path)) and request.method == "GET":
                return Response(200, state.operation(match["sub"], match["id"]))
            match = _PATH.match(request.path)
            if not match:
                raise ArmError(404, "InvalidResourceType", f"The resource type of '{request.path}' could not be found.")
            where = (match["sub"], match["group"], match["kind"], match["name"])
            if request.method == "GET":
                return Response(200, state.read(*where))
            if request.method == "PUT":
                return state.put(*where, request.body, base)
            if request.method == "DELETE":
                return state.delete(*where, base)
            raise ArmError(405, "MethodNotAllowed", f"{request.method} is not supported here.")
        except ArmError as exc:
            return exc.response()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--tls-dir", type=Path, required=True, help="where to write server.crt (trust it) and its key")
    parser.add_argument("--polls", type=int, default=2, help="operation reads until it ends")
    args = parser.parse_args()
    state = ArmState(polls=args.polls)
    server, base, _ = make_server(lambda request, base: answer(state, request, base), args.port,
                                  tls_dir=args.tls_dir, log=True)
    print(f"serving {base}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
