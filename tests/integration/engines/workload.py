"""Seed 001's application: a namespace with a PostgreSQL-like StatefulSet and its config."""

from __future__ import annotations

import base64
import os
from pathlib import Path
from typing import Any

from salvage.k8s.client import KubeClient
from tests.support.builders import headless_service, statefulset
from tests.support.volumes import tree_digest, volume_dir
from tests.support.waiting import wait_for


def deploy(kube: KubeClient, ns: str) -> str:
    """Deploy the app, write its "database" files, return the volume's digest."""
    kube.create(f"/api/v1/namespaces/{ns}/secrets", {
        "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "pg-credentials", "labels": {"app": "pg"}},
        "type": "Opaque", "data": {"password": base64.b64encode(b"s3cret").decode()}})
    for name, data in (("pg-config", {"max_connections": "100"}), ("wp-config", {"site": "blog"})):
        kube.create(f"/api/v1/namespaces/{ns}/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"app": "pg"}},
            "data": data})
    kube.create(f"/api/v1/namespaces/{ns}/services", headless_service("pg", "pg"))
    kube.create(f"/apis/apps/v1/namespaces/{ns}/statefulsets", statefulset("pg", replicas=1, template="data"))
    wait_ready(kube, ns)
    root = volume_dir(kube, ns, "data-pg-0")
    (root / "base" / "16384").mkdir(parents=True)
    (root / "PG_VERSION").write_text("16\n")
    (root / "base" / "16384" / "1259").write_bytes(os.urandom(256 * 1024))
    (root / "pg_hba.conf").symlink_to("PG_VERSION")
    return tree_digest(root)


def wait_ready(kube: KubeClient, ns: str) -> None:
    claim = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/data-pg-0"
    wait_for(lambda: kube.exists(claim) and kube.get(claim).get("status", {}).get("phase") == "Bound",
             timeout=60, what="data-pg-0 Bound")
    pod = f"/api/v1/namespaces/{ns}/pods/pg-0"
    wait_for(lambda: kube.exists(pod) and kube.get(pod).get("status", {}).get("phase") == "Running",
             timeout=60, what="pg-0 Running")


def comparable(kube: KubeClient, ns: str) -> dict[str, Any]:
    """The user-owned parts of the app's objects, to compare before and after a restore."""
    out: dict[str, Any] = {}
    for kind, path, fields in (
        ("Secret", f"/api/v1/namespaces/{ns}/secrets", ("type", "data")),
        ("ConfigMap", f"/api/v1/namespaces/{ns}/configmaps", ("data",)),
        ("Service", f"/api/v1/namespaces/{ns}/services", ("spec",)),
        ("StatefulSet", f"/apis/apps/v1/namespaces/{ns}/statefulsets", ("spec",)),
    ):
        for obj in kube.list(path):
            name = obj["metadata"]["name"]
            if name == "kube-root-ca.crt":
                continue
            out[f"{kind}/{name}"] = {"labels": obj["metadata"].get("labels"), **{f: obj.get(f) for f in fields}}
    return out


def delete_namespace(kube: KubeClient, ns: str) -> None:
    kube.delete(f"/api/v1/namespaces/{ns}")
    wait_for(lambda: not kube.exists(f"/api/v1/namespaces/{ns}"), timeout=120, what=f"namespace {ns} deleted")


def digest_of(kube: KubeClient, ns: str) -> str:
    return tree_digest(volume_dir(kube, ns, "data-pg-0"))


__all__ = ["Path", "comparable", "delete_namespace", "deploy", "digest_of", "wait_ready"]
