"""One named local cluster: its state directory, its processes, and up / down / status."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from salvage.devcluster import bootstrap, host, node, processes
from salvage.devcluster.build import (
    Binaries,
    NodeBinaries,
    component_dir,
    ensure_components,
    ensure_node_components,
    node_binaries,
)
from salvage.devcluster.components import KUBERNETES, KUBERNETES_VERSION
from salvage.devcluster.images import builders as images
from salvage.devcluster.paths import state_root
from salvage.devcluster.pki import Pki, create_pki
from salvage.devcluster.processes import ProcessRecord
from salvage.k8s.client import KubeClient
from salvage.model.errors import ClusterError, NotFoundError, UsageError

Report = Callable[[str], None]

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$")
# Start order; stop runs it backwards. A cluster with a real node adds node.COMPONENTS.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok",
              "snapshot-controller", "hostpath-driver")
_PORT_NAMES = ("etcd", "etcd-peer", "kube-apiserver", "kube-controller-manager", "kube-scheduler",
               "kwok", "snapshot-controller", "hostpath-driver")
SERVICE_CIDR = "10.0.0.0/24"
LIMITED_USER = "salvage-limited"
NODE_USER = f"system:node:{node.NODE_NAME}"


@dataclass(frozen=True)
class ComponentStatus:
    name: str
    running: bool
    healthy: bool
    pid: int | None


@dataclass(frozen=True)
class NodeStatus:
    name: str
    ready: bool


@dataclass(frozen=True)
class ClusterStatus:
    name: str
    kubeconfig: Path
    server: str | None
    components: tuple[ComponentStatus, ...]
    nodes: tuple[NodeStatus, ...]

    @property
    def running(self) -> bool:
        return all(c.running and c.healthy for c in self.components)

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kubeconfig": str(self.kubeconfig),
            "server": self.server,
            "running": self.running,
            "components": [c.__dict__ for c in self.components],
            "nodes": [n.__dict__ for n in self.nodes],
        }


def validate_name(name: str) -> str:
    if not _NAME.match(name):
        raise UsageError(
            f"{name!r} is not a valid cluster name.",
            hint="Use 1-40 lower-case letters, digits and '-', starting and ending with a letter or digit.",
        )
    return name


def shared_snapshot_root() -> Path:
    """Hostpath snapshots of every local cluster on this machine, like a cloud account's disk
    snapshots: they outlive a cluster, and another cluster can restore them."""
    return state_root().parent / "hostpath-snapshots"


def list_clusters() -> list[str]:
    root = state_root()
    if not root.exists():
        return []
    return sorted(p.parent.name for p in root.glob("*/state.json"))


class LocalCluster:
    """A named cluster under ``<state_root>/<name>``. Methods are safe to call repeatedly."""

    def __init__(self, name: str = "salvage") -> None:
        self.name = validate_name(name)
        self.dir = state_root() / name
        self.pki = Pki(self.dir / "pki")

    # -- paths ---------------------------------------------------------------------------
    @property
    def kubeconfig(self) -> Path:
        return self.dir / "kubeconfig"

    @property
    def volume_root(self) -> Path:
        """Where the hostpath driver keeps this cluster's volumes and snapshots."""
        return self.dir / "hostpath"

    @property
    def limited_kubeconfig(self) -> Path:
        """A kubeconfig for the unprivileged user ``salvage-limited`` (RBAC tests)."""
        return self.dir / "kubeconfig-limited"

    @property
    def state_file(self) -> Path:
        return self.dir / "state.json"

    def log_path(self, component: str) -> Path:
        return self.dir / "logs" / f"{component}.log"

    @property
    def exists(self) -> bool:
        return self.state_file.exists()

    def binary_dir(self) -> Path:
        """Where this cluster's kubectl lives (for PATH)."""
        state = self._read_state() or {}
        return Path(state.get("bin") or component_dir(KUBERNETES) / "bin")

    def client(self) -> KubeClient:
        return KubeClient.from_kubeconfig(str(self.kubeconfig))

    # -- lifecycle -------------------------------------------------------------------------
    def up(self, *, nodes: int = 1, real_nodes: int = 0, apiserver_port: int | None = None,
           report: Report = lambda _m: None, timeout: float = 90.0) -> Path:
        """Start the cluster (or the parts of it that are not running) and return its kubeconfig.

        ``nodes`` kwok nodes (fake: pods are marked Running, nothing runs) and ``real_nodes``
        (0 or 1) kubelet nodes where containers run for real."""
        if nodes < 1:
            raise UsageError("--nodes must be at least 1.")
        if real_nodes not in (0, 1):
            raise UsageError("--real-nodes must be 0 or 1: a machine runs one real node.",
                             hint="Add kwok nodes with --nodes for scale; they run no containers.")
        if real_nodes:
            host.check_machine()
            self.node.check_socket_paths()
        binaries = ensure_components(report)
        node_binaries = None
        if real_nodes:
            node_binaries = ensure_node_components(report)
            images.build(tuple(i for i in images.ESSENTIAL if not i.built), report)
        with self._locked():
            state = self._read_state()
            if state and state.get("real_nodes", 0) != real_nodes:
                raise UsageError(
                    f"Cluster {self.name} exists with {state.get('real_nodes', 0)} real node(s), not {real_nodes}.",
                    hint=f"Remove it first (`salvage dev cluster down {self.name}`), or start it as it was.")
            if state and self._all_healthy(state):
                self._ensure_nodes(nodes, real_nodes, report)
                if node_binaries is not None:
                    self.node.import_images(node_binaries, report)
                report(f"cluster {self.name} is already running")
                return self.kubeconfig
            if state:
                report(f"cluster {self.name} was not fully running; restarting its components")
                self._stop_all(state)  # releases this cluster's claim on the real node
            if real_nodes:
                # Before anything is started: a refusal leaves the other cluster's node untouched.
                host.claim_node(_node_owner_file(), self.name, lambda owner: LocalCluster(owner).has_running_node())
            self._start(binaries, node_binaries, nodes, apiserver_port, report, timeout, previous=state)
        return self.kubeconfig

    @property
    def node(self) -> node.RealNode:
        return node.RealNode(self.dir, self.name)

    def import_images(self, report: Report = lambda _m: None) -> list[str]:
        """Import the built images this cluster's real node does not hold yet."""
        with self._locked():
            state = self._running_state()
            if not state.get("real_nodes"):
                raise UsageError(f"Cluster {self.name} has no real node to import images into.",
                                 hint="Start one with `salvage dev cluster up --real-nodes 1`.")
            return self.node.import_images(ensure_node_components(), report)

    def down(self, *, keep: bool = False, report: Report = lambda _m: None) -> None:
        """Stop every process of the cluster; remove its state unless ``keep``."""
        if not self.dir.exists():
            raise NotFoundError(
                f"There is no local cluster named {self.name!r}.",
                hint=_known_clusters_hint(),
            )
        with self._locked():
            state = self._read_state()
            if state:
                self._stop_all(state, report)
            if keep:
                report(f"stopped cluster {self.name}; its data is kept in {self.dir}")
                return
            _remove_tree(self.dir)
            report(f"removed cluster {self.name}")

    def status(self) -> ClusterStatus:
        state = self._read_state()
        if state is None:
            raise NotFoundError(f"There is no local cluster named {self.name!r}.", hint=_known_clusters_hint())
        components = tuple(self._component_status(state, c) for c in _components(state))
        nodes: tuple[NodeStatus, ...] = ()
        api = next(c for c in components if c.name == "kube-apiserver")
        if api.healthy:
            with contextlib.suppress(Exception), self.client() as client:
                nodes = tuple(
                    NodeStatus(n["metadata"]["name"], bootstrap.node_ready(n)) for n in client.list("/api/v1/nodes")
                )
        return ClusterStatus(self.name, self.kubeconfig, state.get("server"), components, nodes)

    def restart_component(self, name: str, *, env: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        """Stop one component and start it again with the same arguments, plus ``env``
        (e.g. the hostpath driver with ``SALVAGE_HOSTPATH_TEST_PAUSE`` for crash tests)."""
        with self._locked():
            state = self._running_state()
            argv = (state["processes"].get(name) or {}).get("argv")
            if not argv:
                raise ClusterError(f"Component {name} of cluster {self.name} has no recorded command line.",
                                   hint=f"Restart the cluster: `salvage dev cluster down {self.name} --keep` "
                                   f"and `salvage dev cluster up --name {self.name}`.")
            record = self._record(state, name)
            if record is not None:
                processes.stop(record)
            self._launch(state, name, argv, env={**os.environ, **(env or {})})
            self._wait_healthy(state, name, timeout)

    def kill_component(self, name: str) -> None:
        """SIGKILL one component, as a crash would; `restart_component` brings it back."""
        with self._locked():
            record = self._record(self._running_state(), name)
            if record is not None:
                processes.kill(record)

    # -- internals -------------------------------------------------------------------------
    def _running_state(self) -> dict[str, Any]:
        state = self._read_state()
        if not state or not state.get("processes"):
            raise NotFoundError(f"Cluster {self.name} is not running.", hint=_known_clusters_hint())
        return state

    def _start(self, binaries: Binaries, node_binaries: NodeBinaries | None, nodes: int, apiserver_port: int | None,
               report: Report, timeout: float, previous: dict[str, Any] | None) -> None:
        # Checked before anything is created: a refused start leaves nothing behind.
        if apiserver_port is not None and processes.port_in_use(apiserver_port):
            raise ClusterError(
                f"Port {apiserver_port} on 127.0.0.1 is already in use; cluster {self.name} was not started.",
                hint="Choose another --port, or leave it out to pick a free one.",
            )
        real = node_binaries is not None
        self.dir.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        port_names = _PORT_NAMES + (node.PORT_NAMES if real else ())
        ports = dict(zip(port_names, processes.free_ports(len(port_names))))
        if apiserver_port is not None:
            ports["kube-apiserver"] = apiserver_port
        else:
            # A restart keeps the API server's address when it can, so kubeconfigs (and clients
            # holding one) stay valid across `down --keep` and `up`.
            old_port = ((previous or {}).get("ports") or {}).get("kube-apiserver")
            if old_port and old_port not in ports.values() and not processes.port_in_use(old_port):
                ports["kube-apiserver"] = old_port
        create_pki(self.pki.dir, self.name)
        tokens = {key: (previous or {}).get(key) or secrets.token_urlsafe(32)
                  for key in ("token", "limited_token", "kubelet_token", "kube_proxy_token", "coredns_token")}
        # A second user with no rights but discovery's, for testing what Salvage does when
        # RBAC forbids part of a backup: grant it roles as a test needs. The node's users are
        # those of a kubeadm cluster: the Node authorizer and default roles know them.
        (self.dir / "tokens.csv").write_text(
            f'{tokens["token"]},salvage-admin,salvage-admin,"system:masters"\n'
            f'{tokens["limited_token"]},{LIMITED_USER},{LIMITED_USER}\n'
            f'{tokens["kubelet_token"]},{NODE_USER},{NODE_USER},"system:nodes"\n'
            f'{tokens["kube_proxy_token"]},system:kube-proxy,system:kube-proxy\n'
            f'{tokens["coredns_token"]},{bootstrap.COREDNS_USER},{bootstrap.COREDNS_USER}\n')
        server = f"https://127.0.0.1:{ports['kube-apiserver']}"
        self._write_kubeconfig(server, tokens["token"])
        self._write_kubeconfig(server, tokens["limited_token"], path=self.limited_kubeconfig)
        state: dict[str, Any] = {
            "name": self.name, "version": KUBERNETES_VERSION, "server": server, **tokens,
            "ports": ports, "nodes": nodes, "real_nodes": 1 if real else 0,
            "components": list(COMPONENTS + (node.COMPONENTS if real else ())),
            "processes": {}, "bin": str(binaries.kubectl.parent),
        }
        self._write_state(state)
        try:
            if node_binaries is not None:
                self._prepare_host(state)
            self._launch(state, "etcd", self._etcd_args(binaries, ports))
            self._wait_healthy(state, "etcd", timeout)
            self._launch(state, "kube-apiserver", self._apiserver_args(binaries, ports, real=real))
            self._wait_healthy(state, "kube-apiserver", timeout)
            report(f"API server ready at {server} ({time.monotonic() - started:.1f}s)")
            with self.client() as client:
                bootstrap.install_crds(client, [binaries.snapshot_crds, binaries.kwok_crds])
                for name, argv in self._controller_args(binaries, ports).items():
                    self._launch(state, name, argv)
                bootstrap.create_defaults(client)
                bootstrap.ensure_nodes(client, nodes, taint=real)
                for name in COMPONENTS[2:]:
                    self._wait_healthy(state, name, timeout)
                if node_binaries is not None:
                    bootstrap.create_node_roles(client)
                    self._start_node(state, node_binaries, tokens, report, timeout)
                bootstrap.wait_ready(client, nodes + state["real_nodes"], timeout=timeout)
        except BaseException:
            self._stop_all(state)
            raise
        what = f"{nodes} kwok node(s)" + (" and a real node" if real else "")
        report(f"cluster {self.name} is up with {what} in {time.monotonic() - started:.1f}s")

    def _prepare_host(self, state: dict[str, Any]) -> None:
        # Saved before anything changes them, so `down` can put them back.
        state["kernel"] = host.save_kernel_settings()
        self._write_state(state)
        host.remove_network()  # what a crashed node may have left
        host.set_up_network()
        host.set_up_cgroups()

    def _start_node(self, state: dict[str, Any], b: NodeBinaries, tokens: dict[str, str], report: Report,
                    timeout: float) -> None:
        real = self.node
        ports = state["ports"]
        # Pods reach the API server at the bridge address (see _apiserver_args).
        server = f"https://{host.NODE_IP}:{ports['kube-apiserver']}"
        real.write_config(b, server=server, ca=self.pki.ca_cert, ports=ports, tokens=node.NodeTokens(
            kubelet=tokens["kubelet_token"], kube_proxy=tokens["kube_proxy_token"], coredns=tokens["coredns_token"]))
        argv, env = real.argv(b), real.env(b)
        for name in node.COMPONENTS:
            self._launch(state, name, argv[name], env=env)
            self._wait_healthy(state, name, timeout)
            if name == "containerd":
                real.import_images(b, report)
        report(f"real node {node.NODE_NAME} started")

    def has_running_node(self) -> bool:
        """Whether this cluster's real node is running (its containerd answers)."""
        state = self._read_state()
        if not state or not state.get("real_nodes") or not state.get("processes"):
            return False
        return node.socket_answers(f"unix://{self.node.containerd_socket}")

    def _ensure_nodes(self, nodes: int, real_nodes: int, report: Report) -> None:
        with self.client() as client:
            if bootstrap.ensure_nodes(client, nodes, taint=bool(real_nodes)):
                report(f"added nodes; cluster {self.name} now has at least {nodes}")
                bootstrap.wait_ready(client, nodes + real_nodes, timeout=60)

    def _launch(self, state: dict[str, Any], name: str, argv: list[str], env: dict[str, str] | None = None) -> None:
        record = processes.spawn(argv, self.log_path(name), env=env)
        # The command line is kept so that one component can be restarted alone.
        state["processes"][name] = {**record.to_json(), "argv": argv}
        self._write_state(state)

    def _etcd_args(self, b: Binaries, p: dict[str, int]) -> list[str]:
        client, peer = f"http://127.0.0.1:{p['etcd']}", f"http://127.0.0.1:{p['etcd-peer']}"
        return [
            str(b.etcd), "--name", "default", "--data-dir", str(self.dir / "etcd"),
            "--listen-client-urls", client, "--advertise-client-urls", client,
            "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
            "--initial-cluster", f"default={peer}", "--log-level", "warn",
        ]

    def _apiserver_args(self, b: Binaries, p: dict[str, int], *, real: bool) -> list[str]:
        pki = self.pki
        if real:
            # Pods reach the API server through the `kubernetes` Service at the bridge address,
            # so it listens beyond loopback; TLS and token authentication guard it as ever.
            addresses = ["--bind-address=0.0.0.0", f"--advertise-address={host.NODE_IP}",
                         "--endpoint-reconciler-type=lease"]
        else:
            # The `kubernetes` Service cannot point at a loopback address; nothing needs it here.
            addresses = ["--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
                         "--endpoint-reconciler-type=none"]
        return [
            str(b.kube_apiserver),
            f"--etcd-servers=http://127.0.0.1:{p['etcd']}",
            *addresses,
            f"--secure-port={p['kube-apiserver']}",
            f"--tls-cert-file={pki.server_cert}", f"--tls-private-key-file={pki.server_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={self.dir / 'tokens.csv'}",
            "--authorization-mode=Node,RBAC",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc",
            f"--service-account-key-file={pki.sa_pub}",
            f"--service-account-signing-key-file={pki.sa_key}",
            "--allow-privileged=true",
            "--kubelet-preferred-address-types=InternalIP",
            f"--kubelet-client-certificate={pki.kubelet_client_cert}",
            f"--kubelet-client-key={pki.kubelet_client_key}",
            "--profiling=false",
        ]

    def _controller_args(self, b: Binaries, p: dict[str, int]) -> dict[str, list[str]]:
        kc = str(self.kubeconfig)
        return {
            "kube-controller-manager": [
                str(b.kube_controller_manager), f"--kubeconfig={kc}",
                "--leader-elect=false", "--bind-address=127.0.0.1",
                f"--secure-port={p['kube-controller-manager']}",
                f"--service-account-private-key-file={self.pki.sa_key}",
                f"--root-ca-file={self.pki.ca_cert}",
                f"--cluster-name=salvage-{self.name}",
                "--profiling=false",
                # kwok's nodes are fake: a heartbeat that comes late on a busy machine must not
                # mark them NotReady, because kwok never makes their pods Ready again after
                # the node lifecycle controller turned them NotReady (kwok issue #1464).
                "--node-monitor-grace-period=5m",
            ],
            "kube-scheduler": [
                str(b.kube_scheduler), f"--kubeconfig={kc}", "--leader-elect=false",
                "--bind-address=127.0.0.1", f"--secure-port={p['kube-scheduler']}", "--profiling=false",
                # A pod turned away because its claim was not bound yet waits for the claim's
                # update to requeue it; when the scheduler misses that event (an upstream race,
                # kubernetes#87145), it waited 5 minutes: the demo's first run on a cold machine
                # timed out so. Unschedulable pods are retried at least every 15 s here.
                "--pod-max-in-unschedulable-pods-duration=15s",
            ],
            "kwok": [
                str(b.kwok), f"--kubeconfig={kc}",
                "--manage-all-nodes=false",
                f"--manage-nodes-with-annotation-selector={bootstrap.KWOK_NODE_ANNOTATION}=fake",
                "--node-ip=127.0.0.1", f"--node-port={p['kwok']}",
                f"--server-address=127.0.0.1:{p['kwok']}",
                f"--tls-cert-file={self.pki.server_cert}", f"--tls-private-key-file={self.pki.server_key}",
                "--enable-crds=Exec,ClusterExec,Logs,ClusterLogs",
                "--cidr=10.244.0.0/16",
                # Heartbeat through node Leases, as kubelets do, not only node status patches.
                "--node-lease-duration-seconds=40",
            ],
            "snapshot-controller": [
                str(b.snapshot_controller), f"--kubeconfig={kc}",
                f"--http-endpoint=127.0.0.1:{p['snapshot-controller']}",
                "--retry-interval-max=10s",
            ],
            "hostpath-driver": [
                sys.executable, "-m", "salvage", f"--kubeconfig={kc}", "driver", "hostpath",
                f"--root={self.volume_root}", f"--snapshot-root={shared_snapshot_root()}",
                f"--health-address=127.0.0.1:{p['hostpath-driver']}",
            ],
        }

    def _health_url(self, state: dict[str, Any], name: str) -> str:
        if name in node.COMPONENTS:
            return self.node.health_url(name, state["ports"])
        port = state["ports"][name]
        return {
            "etcd": f"http://127.0.0.1:{port}/health",
            "kube-apiserver": f"https://127.0.0.1:{port}/readyz",
            "kube-controller-manager": f"https://127.0.0.1:{port}/healthz",
            "kube-scheduler": f"https://127.0.0.1:{port}/healthz",
            "kwok": f"https://127.0.0.1:{port}/healthz",
            "snapshot-controller": f"http://127.0.0.1:{port}/metrics",
            "hostpath-driver": f"http://127.0.0.1:{port}/healthz",
        }[name]

    def _probe(self, state: dict[str, Any], name: str) -> bool:
        url = self._health_url(state, name)
        if url.startswith("unix://"):
            return node.socket_answers(url)
        headers = {"Authorization": f"Bearer {state['token']}"} if name == "kube-apiserver" else {}
        try:
            response = httpx.get(url, verify=False, headers=headers, timeout=2.0)
        except httpx.HTTPError:
            return False
        # kwok answers 404 on paths it does not serve; any HTTP answer proves it listens.
        return response.status_code == 200 or (name == "kwok" and response.status_code < 500)

    def _record(self, state: dict[str, Any], name: str) -> ProcessRecord | None:
        data = state.get("processes", {}).get(name)
        return ProcessRecord.from_json(data) if data else None

    def _component_status(self, state: dict[str, Any], name: str) -> ComponentStatus:
        record = self._record(state, name)
        running = record is not None and processes.is_alive(record)
        return ComponentStatus(name, running, running and self._probe(state, name), record.pid if record else None)

    def _all_healthy(self, state: dict[str, Any]) -> bool:
        return all(self._component_status(state, c).healthy for c in _components(state))

    def _wait_healthy(self, state: dict[str, Any], name: str, timeout: float) -> None:
        record = self._record(state, name)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if record is None or not processes.is_alive(record):
                raise self._failure(name, "exited during start-up")
            if self._probe(state, name):
                return
            time.sleep(0.2)
        raise self._failure(name, f"did not become healthy within {timeout:.0f}s")

    def _failure(self, name: str, what: str) -> ClusterError:
        log = self.log_path(name)
        tail = ""
        with contextlib.suppress(OSError):
            tail = "\n".join(log.read_text(errors="replace").splitlines()[-8:])
        return ClusterError(
            f"{name} of cluster {self.name} {what}; the cluster was stopped.\n{tail}".rstrip(),
            hint=f"Its log is {log}. Run `salvage dev cluster up --name {self.name}` to try again, "
            f"or `salvage dev cluster down {self.name}` to remove it.",
        )

    def _stop_all(self, state: dict[str, Any], report: Report = lambda _m: None) -> None:
        if state.get("real_nodes"):
            self._stop_node(state, report)
        for name in reversed(_components(state)):
            self._stop_component(state, name, report)
        state["processes"] = {}
        if self.dir.exists():
            self._write_state(state)

    def _stop_component(self, state: dict[str, Any], name: str, report: Report) -> None:
        record = self._record(state, name)
        if record is not None:
            if processes.is_alive(record):
                report(f"stopping {name} (pid {record.pid})")
            processes.stop(record)

    def _stop_node(self, state: dict[str, Any], report: Report) -> None:
        """Take the real node apart so that nothing of it stays on the machine: kubelet first
        (it would restart what we stop), then every pod through the CRI (CNI teardown
        included), then the node's other processes, leftover shims and containers, mounts,
        the bridge and chains, the cgroups, and the kernel settings as they were."""
        real = self.node
        steps: list[tuple[str, Callable[[], object]]] = [
            ("stop kubelet", lambda: self._stop_component(state, "kubelet", report)),
            ("remove the pods", lambda: real.remove_pods(node_binaries())),
            *((f"stop {name}", lambda n=name: self._stop_component(state, n, report))
              for name in reversed(node.COMPONENTS)),
            ("end leftover shims", lambda: host.kill_all(real.leftover_processes())),
            ("unmount", lambda: host.unmount_all(self.dir)),
        ]
        if host.node_owner(_node_owner_file()) in (self.name, None):
            # The machine-wide parts are this cluster's to undo only while it owns the node.
            steps += [
                ("remove cgroups", host.remove_cgroups),
                ("remove the network", host.remove_network),
                ("restore kernel settings", lambda: host.restore_kernel_settings(state.get("kernel") or {})),
                ("release the node", lambda: host.release_node(_node_owner_file(), self.name)),
            ]
        for what, step in steps:
            # Every step runs, whatever failed before it: a partial teardown is what `down` must not leave.
            try:
                step()
            except Exception as exc:  # noqa: BLE001 - reported, and the next step still runs
                report(f"could not {what}: {exc}")

    def _write_kubeconfig(self, server: str, token: str, *, path: Path | None = None) -> None:
        ctx = f"salvage-{self.name}"
        config = {
            "apiVersion": "v1", "kind": "Config", "current-context": ctx,
            "clusters": [{"name": ctx, "cluster": {"server": server, "certificate-authority": str(self.pki.ca_cert)}}],
            "users": [{"name": ctx, "user": {"token": token}}],
            "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}}],
        }
        path = path or self.kubeconfig
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)

    def _read_state(self) -> dict[str, Any] | None:
        try:
            return dict(json.loads(self.state_file.read_text()))
        except FileNotFoundError:
            return None
        except ValueError as exc:
            raise ClusterError(
                f"The state of cluster {self.name} ({self.state_file}) is unreadable.",
                hint=f"Remove it with `salvage dev cluster down {self.name}` and start again.",
            ) from exc

    def _write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=2))
        tmp.replace(self.state_file)

    def _lock_path(self) -> Path:
        return self.dir.parent / f".{self.name}.lock"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.dir.parent.mkdir(parents=True, exist_ok=True)
        with open(self._lock_path(), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                if not self.dir.exists():  # removed, or never created: leave no trace
                    self._lock_path().unlink(missing_ok=True)


def _components(state: dict[str, Any]) -> tuple[str, ...]:
    return tuple(state.get("components") or COMPONENTS)


def _node_owner_file() -> Path:
    """Which cluster runs this machine's one real node."""
    return state_root().parent / "real-node.json"


def _known_clusters_hint() -> str:
    names = list_clusters()
    if not names:
        return "There are no local clusters; start one with `salvage dev cluster up`."
    return "Known clusters: " + ", ".join(names) + "."


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)
