"""Reach into hostpath volumes, as seed 000 did on minikube: tests write "application" data."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from salvage.k8s.client import KubeClient


def volume_dir(kube: KubeClient, namespace: str, claim: str) -> Path:
    pvc = kube.get(f"/api/v1/namespaces/{namespace}/persistentvolumeclaims/{claim}")
    pv = kube.get(f"/api/v1/persistentvolumes/{pvc['spec']['volumeName']}")
    return Path(pv["spec"]["csi"]["volumeAttributes"]["path"])


def tree_digest(root: Path) -> str:
    """One hash over every path, mode and file content under ``root``."""
    digest = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(dirpath) / name
            digest.update(str(path.relative_to(root)).encode())
            digest.update(oct(path.stat().st_mode).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()
