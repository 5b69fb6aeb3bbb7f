"""A drill's checks of the restored data (engines/drill.py runs them): each volume's tree
digest against the one its backup recorded, and each PostgreSQL database, loaded from its
dumps into the restored server, with every table's row count against the dump's."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from salvage.catalog.backup_records import VolumeRecord
from salvage.engines.database import count_checks
from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.locations import Location
from salvage.model.errors import SalvageError
from salvage.model.progress import VolumeDigest
from salvage.volumes import location_repository, postgres
from salvage.volumes.postgres import RestoreOptions

_SHOWN = 5  # mismatching tables named in a check's detail


@dataclass
class Check:
    name: str
    passed: bool
    detail: str = ""


def digest_checks(records: list[VolumeRecord], outcomes: dict[tuple[str, str], VolumeDigest],
                  namespaces: dict[str, str]) -> list[Check]:
    """One check per volume: its ``volume-digest`` outcome (events of the restore), or why
    there is none to compare (a method that records no digest, an older backup)."""
    checks = []
    for record in records:
        namespace, pvc = str(record.get("namespace")), str(record.get("pvc"))
        if namespace not in namespaces or record.get("method") == postgres.METHOD:
            continue  # a database's volume: its rows are checked instead
        name = f"volume-digest {namespaces[namespace]}/{pvc}"
        outcome = outcomes.get((namespace, pvc))
        if not record.get("treeDigest"):
            checks.append(Check(name, True, f"no tree digest recorded (method {record.get('method')}); "
                                            "its data was restored as verified by that method"))
        elif outcome is None:
            checks.append(Check(name, False, "the volume was not filled, so its digest was not compared"))
        elif outcome.matches:
            checks.append(Check(name, True, f"{outcome.restored} as recorded"))
        else:
            checks.append(Check(name, False, f"{outcome.restored or 'no digest'} is not the recorded "
                                             f"{record.get('treeDigest')}: " + "; ".join(outcome.differences)))
    return checks


def database_checks(client: KubeClient, location: Location, records: list[VolumeRecord],
                    namespaces: dict[str, str], repo_password: str | None,
                    report: Callable[[str], None]) -> list[Check]:
    """Load each ``postgresql`` record's dumps into the server that now runs on its restored
    claim, then compare every table's row count with the one recorded at dump time."""
    wanted = [r for r in records if r.get("method") == postgres.METHOD and r.get("namespace") in namespaces]
    if not wanted:
        return []
    repo = location_repository.repository(location.store, repo_password, create=False, read_only=True)
    checks = []
    for record in wanted:
        namespace, claim = namespaces[str(record["namespace"])], str(record.get("pvc"))
        name = f"postgresql-rows {namespace}/{claim}"
        try:
            pods = [p for p in postgres.pods_mounting(client.list(core("pods", namespace)), claim)
                    if p.get("status", {}).get("phase") == "Running"]
            if not pods:
                checks.append(Check(name, False, "no running pod mounts the restored claim"))
                continue
            server = postgres.server_from_annotations(client, pods[0], postgres.annotations_of(
                pods[0], postgres.owner_of(client, pods[0])))
            restored = postgres.restore(client, server, repo, record, RestoreOptions(), report)
            tables = count_checks(client, server, record, restored, report)
        except SalvageError as exc:
            checks.append(Check(name, False, exc.message))
            continue
        wrong = [t for t in tables if t.restored != t.recorded]
        shown = "; ".join(f"{t.database}.{t.table}: {t.recorded} recorded, "
                          f"{'missing' if t.restored is None else t.restored} restored" for t in wrong[:_SHOWN])
        more = f" ... and {len(wrong) - _SHOWN} more" if len(wrong) > _SHOWN else ""
        checks.append(Check(name, not wrong,
                            shown + more if wrong else f"{len(tables)} tables in {', '.join(restored)}: "
                                                       "row counts as recorded at dump time"))
    return checks
