"""The object engines' own CPU per object, counted in instructions (steady on a busy machine).

    python benchmarks/engine_instructions.py --objects 5000

Each step runs in its own process under ``valgrind --tool=callgrind`` against the in-process
fake API server of the unit tests (tests/support/fake_kube.py: no network, no TLS, no API
server work), and a ``setup`` process that builds the same data without the step is
subtracted:
  - ``list``: a plain paginated list of N ConfigMaps of 1 KiB (``KubeClient.list``);
  - ``backup``: the backup engine on that namespace (discovery, listing, writing);
  - ``create``: N plain creates from 16 threads (what the create ceiling's client does);
  - ``restore``: the restore engine creating the same N ConfigMaps from a backup (16 workers).
Prints instructions per object and the ratios backup ÷ list and restore ÷ create.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NAMESPACE = "bench"


def configmap(i: int) -> dict[str, object]:
    """A ConfigMap as the server lists it: server metadata and managed fields included."""
    return {"metadata": {
        "name": f"cm-{i:06d}", "namespace": NAMESPACE, "uid": "6b8e2b6c-3d0f-4f27-9d0a-4e2d0c8bcd11",
        "resourceVersion": "12345", "creationTimestamp": "2026-12-02T12:00:00Z",
        "managedFields": [{"manager": "python-httpx", "operation": "Update", "apiVersion": "v1",
                           "time": "2026-12-02T12:00:00Z", "fieldsType": "FieldsV1",
                           "fieldsV1": {"f:data": {".": {}, "f:payload": {}}}}]},
        "data": {"payload": "x" * 1024}}


def step(mode: str, count: int) -> None:
    """One mode, in this process (what callgrind counts)."""
    from concurrent.futures import ThreadPoolExecutor

    from salvage.catalog import layout
    from salvage.catalog.writer import BackupWriter
    from salvage.engines.backup import BackupRequest, create_backup
    from salvage.engines.backup_restore import RestoreRequest, restore_backup
    from salvage.engines.selection import Selection
    from salvage.locations import Location, LocationSpec
    from salvage.storage.memory import MemoryStore
    from tests.support.fake_kube import FakeApi

    def resource(name: str, kind: str, namespaced: bool) -> dict[str, object]:
        return {"name": name, "kind": kind, "namespaced": namespaced, "verbs": ["list", "get", "create", "delete"]}

    listed = {"/api": {"versions": ["v1"]}, "/apis": {"groups": []},
              "/api/v1": {"resources": [resource("namespaces", "Namespace", False),
                                        resource("configmaps", "ConfigMap", True)]},
              f"/api/v1/namespaces/{NAMESPACE}": {"apiVersion": "v1", "kind": "Namespace",
                                                  "metadata": {"name": NAMESPACE}}}
    listed.update({f"/api/v1/namespaces/{NAMESPACE}/configmaps/cm-{i:06d}": configmap(i) for i in range(count)})
    store = MemoryStore()
    writer = BackupWriter(store, "b")
    stream = writer.resource("", "v1", "namespaces", "Namespace", False)
    stream.add(listed[f"/api/v1/namespaces/{NAMESPACE}"])
    stream.flush()
    stream = writer.resource("", "v1", "configmaps", "ConfigMap", True)
    for i in range(count):
        stream.add({"apiVersion": "v1", "kind": "ConfigMap", **configmap(i)})
    stream.flush()
    writer.put_json(layout.volumes("b"), [])
    writer.finish({"formatVersion": layout.FORMAT_VERSION, "kind": "Backup", "name": "b",  # type: ignore[typeddict-item]
                   "phase": "Completed", "resources": [], "files": {}})
    location = Location(LocationSpec("mem", "filesystem", "/nowhere"), store)
    api = FakeApi(listed if mode in ("list", "backup", "setup") else {})
    client = api.client()
    client.exists("/api/v1/namespaces/none")  # the client's first request, in every mode
    if mode == "list":
        assert sum(1 for _ in client.list(f"/api/v1/namespaces/{NAMESPACE}/configmaps")) == count
    elif mode == "backup":
        outcome = create_backup(client, Location(LocationSpec("m", "filesystem", "/x"), MemoryStore()),
                                BackupRequest("b", Selection((NAMESPACE,)), snapshot_volumes=False))
        assert outcome.items == count + 1
    elif mode == "create":
        bodies = [{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": f"cm-{i:06d}"},
                   "data": {"payload": "x" * 1024}} for i in range(count)]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda body: client.create(f"/api/v1/namespaces/{NAMESPACE}/configmaps", body), bodies))
    elif mode == "restore":
        report = restore_backup(client, location, RestoreRequest("r", "b", wait=False))
        assert report.counts.get("created") == count + 1, report.counts


def count_instructions(mode: str, count: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out", sys.executable, __file__,
             "--step", mode, "--objects", str(count)],
            capture_output=True, text=True, env={"PYTHONPATH": f"{ROOT / 'src'}:{ROOT}", "SALVAGE_DATA_DIR": tmp,
                                                 "PYTHONDONTWRITEBYTECODE": "1",  # every mode compiles alike
                                                 "PATH": "/usr/bin:/bin"})
    found = re.search(r"Collected : (\d+)", result.stderr)
    if result.returncode != 0 or not found:
        raise SystemExit(f"{mode} failed:\n{result.stderr[-2000:]}")
    return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--objects", type=int, default=5000)
    parser.add_argument("--step", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        step(args.step, args.objects)
        return
    base = count_instructions("setup", args.objects)
    per = {mode: (count_instructions(mode, args.objects) - base) / args.objects
           for mode in ("list", "backup", "create", "restore")}
    for mode, value in per.items():
        print(f"{mode:8s} {value / 1000:8.0f} k instructions per object")
    print(f"backup ÷ list {per['backup'] / per['list']:.2f}, restore ÷ create {per['restore'] / per['create']:.2f}")


if __name__ == "__main__":
    main()
