"""Build the real node's images from Debian's packages and this checkout, offline from any
registry: each image is a few plain tar layers cached under ``<cache>/images/``, rebuilt
only when what goes into it changed, and packed as an OCI archive for ``ctr images import``.

- ``pause``: the sandbox process (``pause.c`` here), compiled statically.
- ``busybox``: Debian's ``busybox`` (and the C library) with a link per applet.
- ``postgres``: Debian's PostgreSQL server and client on a minimal Debian root (mmdebstrap).
- ``salvage``: Debian's Python, then a layer of Salvage's dependencies (from PyPI, as pip
  resolves them here), then a layer with this checkout's ``salvage`` package: a change to
  our code rebuilds only that last, small layer.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import salvage
from salvage.devcluster.images import oci
from salvage.devcluster.paths import cache_root
from salvage.model.errors import BuildError, ToolchainError

Report = Callable[[str], None]

PREFIX = "salvage.local"
# Bump to rebuild every cached layer (e.g. after a change to how layers are made).
_RECIPE = "1"


@dataclass(frozen=True)
class Image:
    name: str
    tag: str
    summary: str

    @property
    def ref(self) -> str:
        """The name pods use (``image:``), with a tag so the default pull policy is
        IfNotPresent: nothing is ever pulled."""
        return f"{PREFIX}/{self.name}:{self.tag}"

    @property
    def dir(self) -> Path:
        return cache_root() / "images" / self.name

    @property
    def archive(self) -> Path:
        return self.dir / "image.tar"

    @property
    def built(self) -> bool:
        return self.archive.exists() and (self.dir / "ref").exists()


PAUSE = Image("pause", "3.10", "pod sandbox (pause)")
BUSYBOX = Image("busybox", "1.35", "a small shell and tools (Debian busybox)")
POSTGRES = Image("postgres", "15", "PostgreSQL 15 server and client (Debian)")
SALVAGE = Image("salvage", salvage.__version__ if hasattr(salvage, "__version__") else "dev",
                "Salvage's CLI (Debian Python 3.11 and this checkout)")
ALL = (PAUSE, BUSYBOX, POSTGRES, SALVAGE)
# What a real node cannot start without (the sandbox) and what the demo runs.
ESSENTIAL = (PAUSE, BUSYBOX)


def by_name(name: str) -> Image:
    for image in ALL:
        if image.name == name or image.ref == name:
            return image
    raise KeyError(name)


def build(images: tuple[Image, ...] = ALL, report: Report = lambda _m: None) -> None:
    """Build (or bring up to date) each image; a no-op for those whose inputs are unchanged."""
    for image in images:
        _BUILDERS[image.name](image, report)


# -- the images ---------------------------------------------------------------------------------

def _build_pause(image: Image, report: Report) -> None:
    source = resources.files("salvage.devcluster.images").joinpath("pause.c").read_bytes()
    key = _key(source)

    def make(layer: Path) -> None:
        gcc = _require("gcc", "apt-get install gcc libc6-dev")
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "pause.c").write_bytes(source)
            _run([gcc, "-static", "-Os", "-o", f"{tmp}/pause", f"{tmp}/pause.c"], "compiling pause.c")
            with tarfile.open(layer, "w") as out:
                out.add(f"{tmp}/pause", arcname="pause", filter=_root_owned)

    layer = _layer(image, "pause", key, make, report)
    _pack(image, [layer], oci.ImageConfig(entrypoint=["/pause"]), report)


def _build_busybox(image: Image, report: Report) -> None:
    packages = ["busybox", "libc6"]

    def make(layer: Path) -> None:
        # Debian's dynamically linked busybox with the C library it needs: the static build's
        # name lookups (wget, ping) load glibc's NSS modules at run time and crash without them.
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp) / "root"
            for package in packages:
                _run(["dpkg-deb", "-x", str(_apt_download(package, Path(tmp))), str(root)], f"unpacking {package}")
            _merge_usr(root)
            applets = subprocess.run(["chroot", str(root), "/bin/busybox", "--list"], capture_output=True,
                                     text=True, check=True).stdout.split()
            for applet in applets:
                link = root / "usr" / "bin" / applet
                if not link.exists() and not (root / "usr" / "sbin" / applet).exists():
                    link.symlink_to("busybox")
            etc = root / "etc"
            etc.mkdir(exist_ok=True)
            (etc / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n")
            (etc / "group").write_text("root:x:0:\nnobody:x:65534:\n")
            (etc / "nsswitch.conf").write_text("passwd: files\ngroup: files\nhosts: files dns\n")
            for folder, mode in (("tmp", 0o1777), ("root", 0o700), ("usr/share", 0o755)):
                (root / folder).mkdir(parents=True, exist_ok=True)
                (root / folder).chmod(mode)
            with tarfile.open(layer, "w") as out:
                for entry in sorted(root.iterdir()):
                    out.add(str(entry), arcname=entry.name, filter=_root_owned)

    layer = _layer(image, "busybox", _key(_debian_suite(), *map(_candidate, packages)), make, report)
    _pack(image, [layer], oci.ImageConfig(cmd=["sh"]), report)


def _merge_usr(root: Path) -> None:
    """Debian's merged /usr: /bin, /sbin and /lib* are links into /usr, as on the host."""
    for name in ("bin", "sbin", "lib", "lib64"):
        top, usr = root / name, root / "usr" / name
        usr.mkdir(parents=True, exist_ok=True)
        if top.is_dir() and not top.is_symlink():
            shutil.copytree(top, usr, symlinks=True, dirs_exist_ok=True)
            shutil.rmtree(top)
        if not top.exists():
            top.symlink_to(f"usr/{name}")


def _build_postgres(image: Image, report: Report) -> None:
    packages = ["postgresql", "postgresql-client"]
    layer = _layer(image, "rootfs", _key(_debian_suite(), *map(_candidate, packages)),
                   lambda out: _mmdebstrap(packages, out), report)
    bindir = "/usr/lib/postgresql/15/bin"
    config = oci.ImageConfig(
        cmd=["postgres"], user="postgres",
        env=[f"PATH={bindir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "PGDATA=/var/lib/postgresql/data", "LANG=C.UTF-8"],
    )
    _pack(image, [layer], config, report)


def _build_salvage(image: Image, report: Report) -> None:
    base_packages = ["python3", "ca-certificates"]
    base = _layer(image, "python", _key(_debian_suite(), *map(_candidate, base_packages)),
                  lambda out: _mmdebstrap(base_packages, out), report)
    deps = _dependencies()
    deps_layer = _layer(image, "dependencies", _key(*deps), lambda out: _pip_layer(deps, out), report)
    package = Path(salvage.__file__).parent
    app_layer = _layer(image, "app", _key(*_tree_fingerprint(package)), lambda out: _app_layer(package, out), report)
    config = oci.ImageConfig(
        entrypoint=["salvage"],
        env=["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "PYTHONPATH=/opt/salvage/app:/opt/salvage/deps", "PYTHONDONTWRITEBYTECODE=1", "LANG=C.UTF-8"],
    )
    _pack(image, [base, deps_layer, app_layer], config, report)


_BUILDERS: dict[str, Callable[[Image, Report], None]] = {
    "pause": _build_pause, "busybox": _build_busybox, "postgres": _build_postgres, "salvage": _build_salvage,
}


# -- layers ---------------------------------------------------------------------------------------

def _layer(image: Image, name: str, key: str, make: Callable[[Path], None], report: Report) -> Path:
    """The cached layer ``<name>-<key>.tar``, made once; older versions of it are removed."""
    image.dir.mkdir(parents=True, exist_ok=True)
    target = image.dir / f"{name}-{key}.tar"
    if target.exists():
        return target
    report(f"building the {name} layer of image {image.name} ...")
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    try:
        make(partial)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    partial.replace(target)
    for old in image.dir.glob(f"{name}-*.tar"):
        if old != target:
            old.unlink()
            old.with_name(old.name + ".sha256").unlink(missing_ok=True)
    return target


def _pack(image: Image, layers: list[Path], config: oci.ImageConfig, report: Report) -> None:
    key = _key(*(oci.file_digest(layer) for layer in layers), repr(config), image.ref)
    stamp = image.dir / "inputs"
    if image.built and stamp.exists() and stamp.read_text() == key:
        return
    digest = oci.write_archive(image.archive, image.ref, layers, config)
    (image.dir / "ref").write_text(f"{image.ref} {digest}\n")
    stamp.write_text(key)
    report(f"image {image.ref} is built ({image.archive.stat().st_size / 2**20:.0f} MiB)")


def image_digest(image: Image) -> str:
    """The manifest digest of the built image (what containerd will list for it)."""
    return (image.dir / "ref").read_text().split()[1]


def _mmdebstrap(packages: list[str], out: Path) -> None:
    tool = _require("mmdebstrap", "apt-get install mmdebstrap")
    cmd = [
        tool, "--variant=minbase", "--format=tar", "--quiet",
        "--include=" + ",".join(packages),
        "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-exclude=/usr/share/man/*",
        "--dpkgopt=path-exclude=/usr/share/info/*",
        _debian_suite(), str(out), *_debian_sources(),
    ]
    _run(cmd, f"mmdebstrap {' '.join(packages)}")


def _pip_layer(requirements: list[str], out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "opt" / "salvage" / "deps"
        _run([os.environ.get("PYTHON", "python3"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
              "--no-compile", "--only-binary=:all:", "--python-version=3.11", "--platform=manylinux2014_x86_64",
              "--platform=manylinux_2_28_x86_64", "--implementation=cp", "--target", str(target), *requirements],
             "pip install of Salvage's dependencies")
        with tarfile.open(out, "w") as archive:
            archive.add(str(Path(tmp) / "opt"), arcname="opt", filter=_root_owned)


def _app_layer(package: Path, out: Path) -> None:
    launcher = b'#!/bin/sh\nexec python3 -m salvage "$@"\n'
    with tarfile.open(out, "w") as archive:
        archive.add(str(package), arcname="opt/salvage/app/salvage", filter=_root_owned)
        info = tarfile.TarInfo("usr/local/bin/salvage")
        info.size, info.mode = len(launcher), 0o755
        archive.addfile(info, io.BytesIO(launcher))


def _dependencies() -> list[str]:
    """Salvage's runtime requirements: from pyproject.toml in a checkout, else from the
    installed distribution's metadata."""
    pyproject = Path(salvage.__file__).parents[2] / "pyproject.toml"
    if pyproject.exists():
        return list(tomllib.loads(pyproject.read_text())["project"]["dependencies"])
    from importlib.metadata import requires

    return [r for r in (requires("salvage") or []) if "extra ==" not in r]


def _tree_fingerprint(package: Path) -> Iterator[str]:
    for path in sorted(package.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            yield f"{path.relative_to(package)}:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def _root_owned(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    if "__pycache__" in info.name.split("/"):
        return None
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    return info


# -- Debian ----------------------------------------------------------------------------------------

def _debian_suite() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    raise ToolchainError("Cannot tell this machine's Debian release (no VERSION_CODENAME in /etc/os-release).",
                         hint="Images are built from the machine's own Debian sources; build them on Debian.")


def _debian_sources() -> list[str]:
    """The machine's configured apt sources (deb822 files), which mmdebstrap then uses."""
    return sorted(str(p) for p in Path("/etc/apt/sources.list.d").glob("*.sources")) or ["-"]


def _candidate(package: str) -> str:
    out = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if line.strip().startswith("Candidate:"):
            version = line.split(":", 1)[1].strip()
            if version and version != "(none)":
                return f"{package}={version}"
    raise ToolchainError(f"Debian package {package} is not known to apt on this machine.",
                         hint="Run `apt-get update` and try again.")


def _apt_download(package: str, folder: Path) -> Path:
    _run(["apt-get", "download", "-q", package], f"apt-get download {package}", cwd=folder)
    found = sorted(folder.glob(f"{package}_*.deb"))
    if not found:
        raise BuildError(f"apt-get download {package} left no .deb file.", hint="Run `apt-get update` and try again.")
    return found[0]


# -- helpers -----------------------------------------------------------------------------------------

def _key(*parts: str | bytes) -> str:
    digest = hashlib.sha256(_RECIPE.encode())
    for part in parts:
        digest.update(part if isinstance(part, bytes) else part.encode())
        digest.update(b"\0")
    return digest.hexdigest()[:16]


def _require(tool: str, install: str) -> str:
    path = shutil.which(tool)
    if path is None:
        raise ToolchainError(f"`{tool}` is needed to build the node's images and is not installed.",
                             hint=f"Install it (`{install}`), or run scripts/install-deps.")
    return path


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    log_dir = cache_root() / "images" / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / "build.log"
    with open(log, "a") as handle:
        handle.write("$ " + " ".join(cmd) + "\n")
        handle.flush()
        result = subprocess.run(cmd, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-6:])
        raise BuildError(f"Building images failed: {what} exited {result.returncode}.\n{tail}",
                         hint=f"The build log is {log}.")
