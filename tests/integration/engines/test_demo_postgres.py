"""`salvage demo postgres` runs unattended, as CI runs it: seed 001 on the real node, the
operator in its pod making the scheduled backup, the namespace deleted and restored, and
the row counts in the dump equal to those restored."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from salvage.devcluster.local_cluster import LocalCluster
from salvage.k8s.client import KubeClient
from tests.integration.engines.conftest import cli_for
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def test_demo_postgres_restores_every_row_the_scheduled_dump_holds(real_cluster: LocalCluster, real_kube: KubeClient,
                                                                   salvage_home: Path) -> None:
    salvage = cli_for(real_cluster)
    namespace = f"demo-pg-{os.getpid()}"
    started = time.monotonic()
    try:
        out = salvage("-o", "json", "demo", "postgres", "--cluster", real_cluster.name, "--namespace", namespace)
    finally:
        print(f"demo postgres took {time.monotonic() - started:.0f}s")
    result = json.loads(out.stdout)
    assert result["ok"] and result["clientLogsIn"], result
    tables = {t["table"]: t for t in result["tables"]}
    assert set(tables) == {"public.customers", "public.orders"}
    assert all(t["dumped"] == t["restored"] for t in tables.values())
    assert tables["public.orders"]["dumped"] > 20000, "orders the client inserted before the dump are in it"
    assert tables["public.orders"]["atDeletion"] > tables["public.orders"]["dumped"], \
        "the client went on writing after the dump; those rows are not restored"
    assert "5/8 Schedule postgresql-demo" in out.stderr and "Completed" in out.stderr
    # It removed the operator it installed and the Schedule; the Backup object stays.
    wait_for(lambda: not real_kube.exists("/apis/apps/v1/namespaces/salvage/deployments/salvage"), timeout=60,
             what="the demo's operator removed")
    assert not real_kube.exists("/apis/salvage.io/v1alpha1/namespaces/salvage/schedules/postgresql-demo")
    backup = real_kube.get(f"/apis/salvage.io/v1alpha1/namespaces/salvage/backups/{result['backup']}")
    assert backup["status"]["phase"] == "Completed"
    real_kube.delete(f"/api/v1/namespaces/{namespace}")
