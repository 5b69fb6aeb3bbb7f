"""StatefulSets with data in their volumes, for the statefulset tests (hello-stateful of seed 000)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import yaml

from salvage.k8s.client import KubeClient
from tests.support.builders import headless_service, statefulset
from tests.support.volumes import tree_digest, volume_dir
from tests.support.waiting import wait_for


def manifest(name: str, replicas: int, *, template: str = "log") -> list[dict[str, Any]]:
    return [headless_service(name, name), statefulset(name, replicas=replicas, template=template)]


def write_manifest(path: Path, docs: list[dict[str, Any]]) -> Path:
    path.write_text("# the user's own manifest: recover must not change a byte of it\n"
                    + yaml.safe_dump_all(docs, sort_keys=False))
    return path


def deploy_from_file(kube: KubeClient, ns: str, path: Path, name: str, replicas: int) -> bytes:
    """Write the user's manifest file, deploy it, wait until it runs; return the file's bytes."""
    docs = manifest(name, replicas)
    write_manifest(path, docs)
    apply(kube, ns, docs)
    wait_running(kube, ns, name, replicas)
    return path.read_bytes()


def apply(kube: KubeClient, ns: str, docs: list[dict[str, Any]]) -> None:
    for doc in docs:
        plural = {"Service": "/api/v1/namespaces/{ns}/services",
                  "StatefulSet": "/apis/apps/v1/namespaces/{ns}/statefulsets"}[doc["kind"]]
        kube.create(plural.format(ns=ns), doc)


def wait_running(kube: KubeClient, ns: str, name: str, replicas: int, *, template: str = "log") -> None:
    for ordinal in range(replicas):
        claim = f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{template}-{name}-{ordinal}"
        wait_for(lambda c=claim: kube.exists(c) and kube.get(c).get("status", {}).get("phase") == "Bound",
                 timeout=60, what=f"{claim} Bound")
        pod = f"/api/v1/namespaces/{ns}/pods/{name}-{ordinal}"
        wait_for(lambda p=pod: kube.exists(p) and kube.get(p).get("status", {}).get("phase") == "Running",
                 timeout=60, what=f"{pod} Running")


def write_log(kube: KubeClient, ns: str, claim: str, lines: list[str]) -> str:
    """Append lines to the volume's stateful.log; return the volume's digest."""
    root = volume_dir(kube, ns, claim)
    with (root / "stateful.log").open("a") as log:
        log.writelines(line + "\n" for line in lines)
    return tree_digest(root)


def lose_volume(kube: KubeClient, ns: str, claim: str) -> str:
    """Delete the volume's data behind Kubernetes' back, as seed 000 deleted the EBS volume."""
    root = volume_dir(kube, ns, claim)
    shutil.rmtree(root)
    return str(kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")["spec"]["volumeName"])


def pv_of(kube: KubeClient, ns: str, claim: str) -> str:
    return str(kube.get(f"/api/v1/namespaces/{ns}/persistentvolumeclaims/{claim}")["spec"]["volumeName"])


def delete_statefulset(kube: KubeClient, ns: str, name: str) -> None:
    kube.delete(f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}")
    wait_for(lambda: not kube.exists(f"/apis/apps/v1/namespaces/{ns}/statefulsets/{name}")
             and not kube.exists(f"/api/v1/namespaces/{ns}/pods/{name}-0"), timeout=60, what=f"{name} deleted")
