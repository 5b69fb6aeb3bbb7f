"""Run the real ``salvage`` entry point against a local cluster, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = str(Path(__file__).resolve().parents[2] / "src")


def salvage(kubeconfig: Path, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALVAGE_")}
    env.update(PYTHONPATH=SRC, KUBECONFIG=str(kubeconfig), NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "salvage", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)
