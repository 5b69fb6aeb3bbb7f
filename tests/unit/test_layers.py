"""The import contracts of pyproject.toml ([tool.importlinter], drawn in docs/ARCHITECTURE.md)
hold for this tree, and they do catch an import that breaks them."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    # PYTHONPATH names the tree to analyse: the installed package may be another checkout.
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )


def test_the_tree_keeps_every_contract() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("model/leak.py", "from salvage.engines import backup", "Front doors → engines"),
    ("repo/leak.py", "from salvage.k8s import client", "know nothing of Kubernetes"),
    ("engines/leak.py", "import boto3", "imports boto3"),
    ("catalog/leak.py", "import obstore", "imports obstore"),
    ("engines/leak.py", "import httpx", "speaks HTTP"),
    ("volumes/leak.py", "import rich", "typer, click and rich"),
    ("drivers/leak.py", "from salvage.devcluster import paths", "knows nothing of the local cluster"),
    ("devcluster/leak.py", "from salvage.engines import backup", "beside the chain"),
    ("engines/leak.py", "from salvage.devcluster import paths", "does not depend on the local cluster"),
    ("volumes/fs.py", "from salvage.volumes import csi_snapshots", "Volume methods do not import each other"),
])
def test_a_breaking_import_is_caught(tmp_path: Path, module: str, line: str, contract: str) -> None:
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    shutil.copytree(ROOT / "src" / "salvage", tmp_path / "src" / "salvage",
                    ignore=shutil.ignore_patterns("__pycache__", "gobuild", "*.c"))
    with (tmp_path / "src" / "salvage" / module).open("a") as source:
        source.write(f"\n{line}\n")
    result = lint_imports(tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    broken = " ".join(result.stdout.split("Broken contracts", 1)[-1].split())  # names wrap at 80 columns
    assert contract in broken, result.stdout
