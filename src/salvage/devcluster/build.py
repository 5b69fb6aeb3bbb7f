"""Build the control-plane components from their Go modules, once per version.

Each component is built into ``<cache>/devcluster/<name>-<version>/`` and a ``.complete``
marker is written last, so an interrupted build is never mistaken for a good one. Build
output goes to a log file whose path a failure names.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from salvage.devcluster.components import (
    CNI_PLUGINS,
    CONTAINERD,
    COREDNS,
    CRICTL,
    ETCD_BINARY,
    GO_COMPONENTS,
    KUBERNETES_NODE,
    NODE_COMPONENTS,
    RUNC,
    GoComponent,
)
from salvage.devcluster.paths import cache_root
from salvage.model.errors import BuildError, ToolchainError

MIN_GO = (1, 24)

Report = Callable[[str], None]


@dataclass(frozen=True)
class Binaries:
    """Paths of every executable a local cluster runs."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kube_scheduler: Path
    kubectl: Path
    kwok: Path
    snapshot_controller: Path
    snapshot_crds: Path
    kwok_crds: Path


@dataclass(frozen=True)
class NodeBinaries:
    """Paths of every executable a real node runs."""

    kubelet: Path
    kube_proxy: Path
    containerd: Path
    ctr: Path
    containerd_shim: Path
    runc: Path
    cni_bin_dir: Path
    crictl: Path
    coredns: Path


def component_dir(component: GoComponent) -> Path:
    return cache_root() / "devcluster" / component.key


def is_built(component: GoComponent) -> bool:
    return (component_dir(component) / ".complete").exists()


def ensure_components(report: Report = lambda _msg: None, *, timer: Callable[[], float] = time.monotonic) -> Binaries:
    """Build whatever is missing (reporting progress) and return the binaries' paths."""
    etcd = shutil.which(ETCD_BINARY)
    if etcd is None:
        raise ToolchainError(
            "etcd is not installed.",
            hint="Install Debian's etcd-server package (`apt-get install etcd-server`), "
            "or run scripts/install-deps, which does it for you.",
        )
    _build_missing(GO_COMPONENTS, report, timer)
    k8s, kwok, snap = (component_dir(c) for c in GO_COMPONENTS)
    return Binaries(
        etcd=Path(etcd),
        kube_apiserver=k8s / "bin" / "kube-apiserver",
        kube_controller_manager=k8s / "bin" / "kube-controller-manager",
        kube_scheduler=k8s / "bin" / "kube-scheduler",
        kubectl=k8s / "bin" / "kubectl",
        kwok=kwok / "bin" / "kwok",
        snapshot_controller=snap / "bin" / "snapshot-controller",
        snapshot_crds=snap / "assets" / "crd",
        kwok_crds=kwok / "assets" / "bases",
    )


def ensure_node_components(report: Report = lambda _msg: None, *,
                           timer: Callable[[], float] = time.monotonic) -> NodeBinaries:
    """Build whatever the real node needs that is missing, and return the binaries' paths."""
    _build_missing(NODE_COMPONENTS, report, timer)
    return node_binaries()


def node_binaries() -> NodeBinaries:
    """Where the real node's binaries are once built (they may not exist yet)."""
    node, cni = component_dir(KUBERNETES_NODE) / "bin", component_dir(CNI_PLUGINS) / "bin"
    containerd = component_dir(CONTAINERD) / "bin"
    return NodeBinaries(
        kubelet=node / "kubelet",
        kube_proxy=node / "kube-proxy",
        containerd=containerd / "containerd",
        ctr=containerd / "ctr",
        containerd_shim=containerd / "containerd-shim-runc-v2",
        runc=component_dir(RUNC) / "bin" / "runc",
        cni_bin_dir=cni,
        crictl=component_dir(CRICTL) / "bin" / "crictl",
        coredns=component_dir(COREDNS) / "bin" / "coredns",
    )


def _build_missing(components: tuple[GoComponent, ...], report: Report, timer: Callable[[], float]) -> None:
    missing = [c for c in components if not is_built(c)]
    if missing:
        _check_go()
    for component in missing:
        with _build_lock(component):
            if is_built(component):  # another process built it while we waited
                continue
            started = timer()
            report(f"building {component.name} {component.version} (first run only; this takes a while) ...")
            build_component(component)
            report(f"built {component.name} {component.version} in {_duration(timer() - started)}")


@contextlib.contextmanager
def _build_lock(component: GoComponent) -> Iterator[None]:
    """One build of a component at a time on this machine: a second process waits for the
    first instead of compiling the same thing again beside it."""
    folder = cache_root() / "devcluster"
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / f".{component.key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def build_component(component: GoComponent) -> None:
    """Build one component into its cache folder; raise BuildError naming the log on failure."""
    target = component_dir(component)
    logs = cache_root() / "devcluster" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    log_path = logs / f"{component.key}.log"
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{component.key}-", dir=target.parent))
    try:
        with open(log_path, "w") as log, tempfile.TemporaryDirectory() as workdir:
            _run_go_build(component, Path(workdir), staging / "bin", log)
            for module, subdir in component.assets:
                _copy_asset(module, subdir, staging / "assets", Path(workdir), log)
        (staging / ".complete").write_text(component.version + "\n")
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    except subprocess.CalledProcessError as exc:
        raise BuildError(
            f"Building {component.name} {component.version} failed (exit {exc.returncode}).",
            hint=f"The build log is {log_path}.",
        ) from exc
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _run_go_build(component: GoComponent, workdir: Path, bindir: Path, log) -> None:  # type: ignore[no-untyped-def]
    bindir.mkdir(parents=True)
    env = dict(os.environ, CGO_ENABLED="1" if component.cgo else "0", GOFLAGS="-mod=mod", GOTOOLCHAIN="local")
    ldflags = f"-s -w {component.ldflags}".strip()
    tags = ["-tags", component.tags] if component.tags else []
    if component.source_module:
        source = _module_source(f"{component.source_module}@{component.version}", workdir, log)
        cmd = ["go", "build", "-trimpath", *tags, "-ldflags", ldflags, "-o", str(bindir) + "/", *component.packages]
        _logged(cmd, source, env, log)
    elif component.build_module:
        source = resources.files("salvage.devcluster").joinpath("gobuild", component.build_module)
        for name in ("go.mod", "go.sum"):
            entry = source.joinpath(name)
            if entry.is_file():
                (workdir / name).write_bytes(entry.read_bytes())
        cmd = ["go", "build", "-trimpath", *tags, "-ldflags", ldflags, "-o", str(bindir) + "/", *component.packages]
        _logged(cmd, workdir, env, log)
    else:
        env["GOBIN"] = str(bindir)
        cmd = ["go", "install", "-trimpath", *tags, "-ldflags", ldflags]
        cmd += [f"{pkg}@{component.version}" for pkg in component.packages]
        _logged(cmd, workdir, env, log)


def _module_source(module: str, workdir: Path, log) -> Path:  # type: ignore[no-untyped-def]
    """A writable copy of a module's source from the Go module cache (read-only there)."""
    module_dir = _download(module, workdir)
    dest = workdir / "src"
    shutil.copytree(module_dir, dest)
    for dirpath, dirnames, filenames in os.walk(dest):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            if not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode | 0o200)
    os.chmod(dest, 0o755)
    log.write(f"copied the source of {module}\n")
    return dest


def _download(module: str, workdir: Path) -> Path:
    out = subprocess.run(
        ["go", "mod", "download", "-json", module],
        cwd=workdir, env=dict(os.environ, GOFLAGS="-mod=mod"), capture_output=True, text=True, check=True,
    )
    return Path(json.loads(out.stdout)["Dir"])


def _copy_asset(module: str, subdir: str, dest: Path, workdir: Path, log) -> None:  # type: ignore[no-untyped-def]
    module_dir = _download(module, workdir)
    shutil.copytree(module_dir / subdir, dest / Path(subdir).name)
    log.write(f"copied {module}/{subdir}\n")


def _logged(cmd: list[str], cwd: Path, env: dict[str, str], log) -> None:  # type: ignore[no-untyped-def]
    log.write("$ " + " ".join(cmd) + "\n")
    log.flush()
    subprocess.run(cmd, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT, check=True)


def _check_go() -> None:
    go = shutil.which("go")
    if go is None:
        raise ToolchainError(
            "The Go toolchain is needed to build the local cluster's components, and `go` is not on PATH.",
            hint="Install Go 1.24 or newer (https://go.dev/dl/) and run the command again.",
        )
    out = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True).stdout.strip()
    parts = out.removeprefix("go").split(".")
    try:
        version = (int(parts[0]), int(parts[1]))
    except (IndexError, ValueError):
        return
    if version < MIN_GO:
        raise ToolchainError(
            f"Go {out} is too old to build Kubernetes 1.33; it needs go1.24 or newer.",
            hint="Install a newer Go and run the command again.",
        )


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{seconds:.1f}s"
