"""Manifests as YAML text (what `salvage install --dry-run -o yaml` prints and deploy/ keeps).

`python -m salvage.operator.manifests deploy` rewrites deploy/ from the Python rendering;
tests/unit/operator/test_deploy.py fails when they differ."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

from salvage.operator.crds import crds
from salvage.operator.install import manifests


def render_yaml(objects: list[dict[str, Any]]) -> str:
    """Objects as one multi-document YAML stream, keys in the order written."""
    return "".join("---\n" + yaml.safe_dump(obj, sort_keys=False, width=120) for obj in objects)


def deploy_files() -> dict[str, str]:
    """deploy/'s files: name -> text."""
    header = "# Rendered from salvage.operator by `python -m salvage.operator.manifests deploy`; do not edit.\n"
    return {"crds.yaml": header + render_yaml(crds()),
            "operator.yaml": header + render_yaml(manifests(with_crds=False))}


def write(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in deploy_files().items():
        (directory / name).write_text(text)


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "deploy"))
