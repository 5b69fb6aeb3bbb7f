"""Build or install every test server (and promtool) once per machine, into the same cache as the cluster.

MinIO, fake-gcs-server, toxiproxy and promtool are Go components (built like the control plane, see
:mod:`salvage.devcluster.build`); Azurite is installed from npm into its own prefix with a
``.complete`` marker written last; moto is a Python package and only checked for.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from salvage.devcluster.build import _check_go, build_component, component_dir, is_built
from salvage.devcluster.components import AZURITE_VERSION, FAKE_GCS, MINIO, PROMTOOL, SERVER_COMPONENTS, TOXIPROXY
from salvage.devcluster.paths import cache_root
from salvage.model.errors import BuildError, ToolchainError

Report = Callable[[str], None]


@dataclass(frozen=True)
class ServerBinaries:
    minio: Path
    fake_gcs_server: Path
    azurite_blob: Path
    toxiproxy: Path
    promtool: Path


def server_binaries() -> ServerBinaries:
    """Where the binaries are once :func:`ensure_servers` has run (they may not exist yet)."""
    return ServerBinaries(
        minio=component_dir(MINIO) / "bin" / "minio",
        fake_gcs_server=component_dir(FAKE_GCS) / "bin" / "fake-gcs-server",
        azurite_blob=azurite_dir() / "node_modules" / ".bin" / "azurite-blob",
        toxiproxy=component_dir(TOXIPROXY) / "bin" / "server",
        promtool=component_dir(PROMTOOL) / "bin" / "promtool",
    )


def ensure_servers(report: Report = lambda _msg: None, *, timer: Callable[[], float] = time.monotonic) -> ServerBinaries:
    """Build or install whatever server is missing, reporting progress, and return the paths."""
    missing = [c for c in SERVER_COMPONENTS if not is_built(c)]
    if missing:
        _check_go()
    for component in missing:
        started = timer()
        report(f"building {component.name} {component.version} (first run only) ...")
        build_component(component)
        report(f"built {component.name} in {timer() - started:.0f}s")
    if not (azurite_dir() / ".complete").exists():
        started = timer()
        report(f"installing azurite {AZURITE_VERSION} from npm (first run only) ...")
        install_azurite()
        report(f"installed azurite in {timer() - started:.0f}s")
    check_moto()
    return server_binaries()


def azurite_dir() -> Path:
    return cache_root() / "servers" / f"azurite-{AZURITE_VERSION}"


def install_azurite() -> None:
    """``npm install`` Azurite into a staging prefix, then move it into place in one rename."""
    npm = shutil.which("npm")
    if npm is None:
        raise ToolchainError(
            "Azurite (the Azure Blob test server) is installed with npm, and `npm` is not on PATH.",
            hint="Install Node.js 20 or newer with npm (Debian: `apt-get install nodejs npm`) and run again.",
        )
    target = azurite_dir()
    logs = cache_root() / "servers" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{target.name}.log"
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    # No audit or funding calls and no update check: only the registry itself is reachable.
    env = dict(os.environ, npm_config_update_notifier="false")
    cmd = [npm, "install", "--prefix", str(staging), "--no-audit", "--no-fund", f"azurite@{AZURITE_VERSION}"]
    try:
        with open(log_path, "w") as log:
            log.write("$ " + " ".join(cmd) + "\n")
            log.flush()
            subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)
        (staging / ".complete").write_text(AZURITE_VERSION + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except subprocess.CalledProcessError as exc:
        raise BuildError(
            f"Installing azurite {AZURITE_VERSION} with npm failed (exit {exc.returncode}).",
            hint=f"The npm log is {log_path}.",
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_moto() -> None:
    if importlib.util.find_spec("moto") is None or importlib.util.find_spec("flask") is None:
        raise ToolchainError(
            "moto's server mode (the EC2 test server) is not installed.",
            hint="Install the test extras: `pip install -e '.[test]'` (it brings `moto[server]`).",
        )
