"""What a real node changes on this machine, and how each change is undone.

A kubelet node is not a folder: it needs a bridge for pod networking, iptables chains
(kube-proxy's ``KUBE-*``, the CNI plugins' ``CNI-*``, our ``SALVAGE-*``), cgroups, mounts
(container root filesystems, volumes, network namespaces) and a few kernel settings that
kubelet and kube-proxy adjust. Everything here is idempotent and safe to run again after a
crash: ``down`` calls every ``remove_*`` whether or not the matching ``set_up`` ran.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from salvage.model.errors import ClusterError

BRIDGE = "salvage0"
POD_SUBNET = "10.88.0.0/16"
NODE_IP = "10.88.0.1"
CGROUP_PARENT = "salvage"
_CHAIN_PREFIXES = ("KUBE-", "CNI-", "SALVAGE-")
_FORWARD_CHAIN = "SALVAGE-FORWARD"
# Settings kubelet (protectKernelDefaults false) and kube-proxy may change machine-wide, plus
# the ones we need: saved at `up`, put back at `down`.
KERNEL_SETTINGS = (
    "vm/overcommit_memory", "kernel/panic", "kernel/panic_on_oops", "net/ipv4/ip_forward",
    "net/bridge/bridge-nf-call-iptables", "net/ipv4/conf/all/route_localnet",
)
_CGROUP = Path("/sys/fs/cgroup")


# -- checks ---------------------------------------------------------------------------------------

def check_machine() -> None:
    """Refuse, before anything changes, a machine that cannot run containers, naming what
    is missing and what to do about it."""
    if os.geteuid() != 0:
        raise ClusterError("A real node needs root: it creates a bridge, iptables rules, cgroups and mounts.",
                           hint="Run as root, or start the cluster with `--real-nodes 0` (kwok nodes only).")
    filesystems = Path("/proc/filesystems").read_text()
    missing = []
    if "overlay" not in filesystems:
        missing.append("the overlay filesystem (kernel module `overlay`)")
    if not Path("/proc/sys/net/bridge").exists():
        missing.append("bridge netfilter (kernel module `br_netfilter`)")
    if not (_CGROUP / "cgroup.controllers").exists() and not (_CGROUP / "memory").is_dir():
        missing.append("cgroups (neither a cgroup v2 hierarchy nor v1 controllers under /sys/fs/cgroup)")
    for tool, package in (("iptables", "iptables"), ("ip", "iproute2"), ("mount", "mount"), ("conntrack", "conntrack")):
        if shutil.which(tool) is None:
            missing.append(f"the `{tool}` command (Debian package {package})")
    if missing:
        raise ClusterError("This machine cannot run a real node: it lacks " + "; ".join(missing) + ".",
                           hint="Load the kernel modules or install the packages (scripts/install-deps installs the "
                           "packages), or start the cluster with `--real-nodes 0`.")


# -- kernel settings -------------------------------------------------------------------------------

def save_kernel_settings() -> dict[str, str]:
    saved = {}
    for key in KERNEL_SETTINGS:
        with contextlib.suppress(OSError):
            saved[key] = (Path("/proc/sys") / key).read_text().strip()
    return saved


def set_kernel(key: str, value: str) -> None:
    try:
        (Path("/proc/sys") / key).write_text(value)
    except OSError as exc:
        raise ClusterError(f"Cannot set kernel setting {key.replace('/', '.')} to {value}: {exc.strerror}.",
                           hint="A real node needs it; run as root on a machine that allows it, or use --real-nodes 0.") \
            from exc


def restore_kernel_settings(saved: dict[str, str]) -> None:
    for key, value in saved.items():
        with contextlib.suppress(OSError):
            if (Path("/proc/sys") / key).read_text().strip() != value:
                (Path("/proc/sys") / key).write_text(value)


# -- network ---------------------------------------------------------------------------------------

def set_up_network() -> None:
    """The pods' bridge with the node's address, and a rule that keeps pod traffic on this
    machine: nothing from a pod is forwarded out of any other interface."""
    if not Path(f"/sys/class/net/{BRIDGE}").exists():
        _run(["ip", "link", "add", BRIDGE, "type", "bridge"])
    prefix = POD_SUBNET.split("/")[1]
    addresses = subprocess.run(["ip", "-o", "-4", "addr", "show", "dev", BRIDGE], capture_output=True,
                               text=True).stdout
    if f"{NODE_IP}/{prefix}" not in addresses:
        _run(["ip", "addr", "add", f"{NODE_IP}/{prefix}", "dev", BRIDGE])
    _run(["ip", "link", "set", BRIDGE, "up"])
    set_kernel("net/ipv4/ip_forward", "1")
    set_kernel("net/bridge/bridge-nf-call-iptables", "1")
    if subprocess.run(["iptables", "-t", "filter", "-n", "-L", _FORWARD_CHAIN], capture_output=True).returncode != 0:
        _run(["iptables", "-t", "filter", "-N", _FORWARD_CHAIN])
        _run(["iptables", "-t", "filter", "-A", _FORWARD_CHAIN, "-i", BRIDGE, "!", "-o", BRIDGE, "-j", "DROP"])
        _run(["iptables", "-t", "filter", "-I", "FORWARD", "1", "-j", _FORWARD_CHAIN])


def remove_network() -> None:
    """The bridge, any veth still attached to it, and every chain of ours, kube-proxy's and
    the CNI plugins' in every table, with the rules that jump to them."""
    for veth in attached_interfaces():
        subprocess.run(["ip", "link", "del", veth], capture_output=True)
    if Path(f"/sys/class/net/{BRIDGE}").exists():
        subprocess.run(["ip", "link", "del", BRIDGE], capture_output=True)
    for tool in ("iptables", "ip6tables"):
        if shutil.which(tool):
            _remove_chains(tool)


def attached_interfaces() -> list[str]:
    """Interfaces whose master is the pods' bridge (the host ends of pod veths)."""
    found = []
    for link in Path("/sys/class/net").iterdir():
        master = link / "master"
        if master.exists() and Path(os.readlink(master)).name == BRIDGE:
            found.append(link.name)
    return found


def our_chains(tool: str = "iptables") -> list[str]:
    """``table/chain`` of every chain a real node creates that exists now."""
    found = []
    for table, chains, _rules in _tables(tool):
        found += [f"{table}/{c}" for c in chains if c.startswith(_CHAIN_PREFIXES)]
    return found


def _remove_chains(tool: str) -> None:
    for table, chains, rules in _tables(tool):
        ours = [c for c in chains if c.startswith(_CHAIN_PREFIXES)]
        if not ours:
            continue
        # Rules in built-in chains that jump to ours go first; then ours can be emptied and removed.
        for chain, spec in rules:
            if not chain.startswith(_CHAIN_PREFIXES) and _jump_target(spec) in ours:
                subprocess.run([tool, "-w", "-t", table, "-D", chain, *spec], capture_output=True)
        for chain in ours:
            subprocess.run([tool, "-w", "-t", table, "-F", chain], capture_output=True)
        for chain in ours:
            subprocess.run([tool, "-w", "-t", table, "-X", chain], capture_output=True)


def _tables(tool: str) -> Iterable[tuple[str, list[str], list[tuple[str, list[str]]]]]:
    out = subprocess.run([f"{tool}-save"], capture_output=True, text=True).stdout
    table, chains, rules = "", [], []  # type: tuple[str, list[str], list[tuple[str, list[str]]]]
    for line in out.splitlines():
        if line.startswith("*"):
            table, chains, rules = line[1:], [], []
        elif line.startswith(":"):
            chains.append(line[1:].split()[0])
        elif line.startswith("-A "):
            parts = shlex.split(line)
            rules.append((parts[1], parts[2:]))
        elif line == "COMMIT":
            yield table, chains, rules


def _jump_target(spec: list[str]) -> str:
    for flag in ("-j", "-g"):
        if flag in spec and spec.index(flag) + 1 < len(spec):
            return spec[spec.index(flag) + 1]
    return ""


# -- cgroups ---------------------------------------------------------------------------------------

def cgroup_v2() -> bool:
    return (_CGROUP / "cgroup.controllers").exists()


def set_up_cgroups() -> None:
    """kubelet's cgroup root (``/salvage``) in every hierarchy, so pods sit under it."""
    for hierarchy in _hierarchies():
        folder = hierarchy / CGROUP_PARENT
        folder.mkdir(exist_ok=True)
        if hierarchy.name == "cpuset":
            for name in ("cpuset.cpus", "cpuset.mems"):
                (folder / name).write_text((hierarchy / name).read_text())
        if cgroup_v2():
            controllers = (hierarchy / "cgroup.subtree_control").read_text().split()
            with contextlib.suppress(OSError):
                (folder / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in controllers))


def cgroup_processes() -> list[int]:
    """Every process still in a cgroup under ``/salvage`` (containers a crash left behind)."""
    pids: set[int] = set()
    for hierarchy in _hierarchies():
        for procs in (hierarchy / CGROUP_PARENT).rglob("cgroup.procs"):
            with contextlib.suppress(OSError, ValueError):
                pids.update(int(p) for p in procs.read_text().split())
    return sorted(pids)


def remove_cgroups() -> None:
    for pid in cgroup_processes():
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while cgroup_processes() and time.monotonic() < deadline:
        time.sleep(0.1)
    for hierarchy in _hierarchies():
        root = hierarchy / CGROUP_PARENT
        if not root.exists():
            continue
        # Deepest first: a cgroup can only be removed once it has no children.
        for folder in sorted((p for p in root.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                folder.rmdir()
        with contextlib.suppress(OSError):
            root.rmdir()


def _hierarchies() -> list[Path]:
    if cgroup_v2():
        return [_CGROUP]
    return sorted(p for p in _CGROUP.iterdir() if p.is_dir() and not p.is_symlink() and p.name != "unified"
                  and any(p.glob("cgroup.procs")))


# -- mounts and processes --------------------------------------------------------------------------

def mounts_under(folder: Path) -> list[str]:
    """Mount points at or below ``folder``, deepest first."""
    prefix = str(folder.resolve())
    found = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == prefix or point.startswith(prefix + "/"):
                found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def unmount_all(folder: Path) -> None:
    for _attempt in range(5):
        points = mounts_under(folder)
        if not points:
            return
        for point in points:
            subprocess.run(["umount", "-l", point], capture_output=True)


def processes_mentioning(text: str) -> list[int]:
    """Processes whose command line contains ``text`` (e.g. a containerd shim of ours)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if text in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"):
                found.append(int(entry.name))
    return found


def kill_all(pids: list[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# -- the machine's one real node ------------------------------------------------------------------

def claim_node(owner_file: Path, cluster: str, is_running: Callable[[str], bool]) -> None:
    """Record ``cluster`` as the one cluster whose real node runs on this machine. The CNI
    and iptables chains and some kubelet paths are machine-wide, so a second real node would
    share them; refuse while another running cluster holds it."""
    with contextlib.suppress(OSError, ValueError):
        owner = json.loads(owner_file.read_text()).get("cluster")
        if owner and owner != cluster and is_running(owner):
            raise ClusterError(
                f"Cluster {owner} already runs this machine's real node; a machine runs one real node at a time.",
                hint=f"Start {cluster} with `--real-nodes 0` (kwok nodes only), or stop {owner} first "
                f"(`salvage dev cluster down {owner}`).",
            )
    owner_file.parent.mkdir(parents=True, exist_ok=True)
    owner_file.write_text(json.dumps({"cluster": cluster}))


def node_owner(owner_file: Path) -> str | None:
    try:
        return str(json.loads(owner_file.read_text()).get("cluster")) or None
    except (OSError, ValueError):
        return None


def release_node(owner_file: Path, cluster: str) -> None:
    with contextlib.suppress(OSError, ValueError):
        if json.loads(owner_file.read_text()).get("cluster") == cluster:
            owner_file.unlink()


def _run(cmd: list[str]) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    if result.returncode != 0:
        raise ClusterError(f"`{' '.join(cmd)}` failed: {result.stderr.strip() or result.stdout.strip()}",
                           hint="The real node could not set up its network; the cluster was not started.")
