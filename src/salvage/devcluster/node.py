"""The local cluster's real node: containerd with runc, the CNI bridge, kubelet, kube-proxy,
CoreDNS and the hostpath driver's CSI node plugin, all as processes of this machine.

Everything a node keeps lives under ``<cluster>/node/`` (configs, containerd's root and
state, kubelet's root, pod logs, IP allocations); what it changes outside that folder is in
:mod:`salvage.devcluster.host`. Pods reach the API server at the bridge address
(``host.NODE_IP``), which is also the node's InternalIP and where CoreDNS answers.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from salvage.devcluster import host
from salvage.devcluster.build import NodeBinaries
from salvage.devcluster.images import builders as images
from salvage.drivers.hostpath import names
from salvage.model.errors import ClusterError

NODE_NAME = "real-node-0"
NODE_LABEL = "salvage.io/node"
CLUSTER_DOMAIN = "cluster.local"
# Start order (stop runs it backwards).
COMPONENTS = ("containerd", "hostpath-node", "kubelet", "kube-proxy", "coredns")
PORT_NAMES = ("kubelet", "kubelet-healthz", "kube-proxy-healthz", "kube-proxy-metrics", "coredns-health")
PINNED_LABEL = "io.cri-containerd.pinned=pinned"


@dataclass(frozen=True)
class NodeTokens:
    kubelet: str
    kube_proxy: str
    coredns: str


# A Unix socket's path (sun_path) holds 108 bytes with the terminating NUL.
_SOCKET_PATH_MAX = 107


class RealNode:
    def __init__(self, cluster_dir: Path, cluster_name: str) -> None:
        self.cluster_name = cluster_name
        self.dir = cluster_dir / "node"

    # -- paths ---------------------------------------------------------------------------------
    @property
    def containerd_socket(self) -> Path:
        return self.dir / "containerd" / "containerd.sock"

    @property
    def kubelet_root(self) -> Path:
        return self.dir / "kubelet"

    @property
    def csi_socket(self) -> Path:
        return self.kubelet_root / "plugins" / names.DRIVER / "csi.sock"

    def sockets(self) -> list[Path]:
        """The Unix sockets the node's processes listen on under its directory (the longest,
        kubelet's plugin registration socket, last)."""
        return [self.containerd_socket, self.dir / "containerd" / "containerd.sock.ttrpc", self.csi_socket,
                self.kubelet_root / "plugins_registry" / f"{names.DRIVER}-reg.sock"]

    def check_socket_paths(self) -> None:
        """Refuse, before anything starts, a cluster whose directory is so deep (a long name
        or state directory) that a socket path passes the kernel's 107-byte limit: kubelet
        would never register the CSI driver, and every pod with a claim would hang."""
        longest = max(self.sockets(), key=lambda p: len(bytes(p)))
        over = len(bytes(longest)) - _SOCKET_PATH_MAX
        if over > 0:
            raise ClusterError(
                f"Cluster name {self.cluster_name!r} is too long for a real node: the socket {longest} would be "
                f"{len(bytes(longest))} bytes, over the kernel's {_SOCKET_PATH_MAX}.",
                hint=(f"Use a name of at most {len(self.cluster_name) - over} characters, or a shorter "
                      "SALVAGE_STATE_DIR." if len(self.cluster_name) > over else
                      "Point SALVAGE_STATE_DIR at a shorter directory (e.g. /var/lib/salvage)."))

    def kubeconfig(self, user: str) -> Path:
        return self.dir / f"{user}.kubeconfig"

    # -- configuration -----------------------------------------------------------------------
    def write_config(self, b: NodeBinaries, *, server: str, ca: Path, tokens: NodeTokens,
                     ports: dict[str, int]) -> None:
        """Every config file the node's processes read (rewritten at each start: ports change)."""
        for folder in ("containerd", "kubelet", "cni/net.d", "cni/ipam", "pod-logs", "coredns", "runc"):
            (self.dir / folder).mkdir(parents=True, exist_ok=True)
        for user, token in (("kubelet", tokens.kubelet), ("kube-proxy", tokens.kube_proxy),
                            ("coredns", tokens.coredns)):
            _write_kubeconfig(self.kubeconfig(user), server, ca, token, self.cluster_name)
        (self.dir / "containerd" / "config.toml").write_text(self._containerd_config(b))
        (self.dir / "cni" / "net.d" / "10-salvage.conflist").write_text(json.dumps(self._cni_config(), indent=2))
        (self.dir / "kubelet.yaml").write_text(yaml.safe_dump(self._kubelet_config(ca, ports), sort_keys=False))
        (self.dir / "kube-proxy.yaml").write_text(yaml.safe_dump(self._proxy_config(ports), sort_keys=False))
        (self.dir / "coredns" / "Corefile").write_text(self._corefile(ports))

    def _containerd_config(self, b: NodeBinaries) -> str:
        d = self.dir / "containerd"
        return f"""version = 3
root = "{d / 'root'}"
state = "{d / 'state'}"

[grpc]
  address = "{self.containerd_socket}"

[ttrpc]
  address = "{d / 'containerd.sock.ttrpc'}"

[plugins]
  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = '{images.PAUSE.ref}'

  [plugins.'io.containerd.cri.v1.runtime']
    # This kind of VM has no CAP_SYS_RESOURCE: no process may lower its oom_score_adj, so
    # the sandbox's -998 would fail every pod ("can't get final child's PID from pipe").
    restrict_oom_score_adj = true
    netns_mounts_under_state_dir = true
    enable_cdi = false
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = '{b.runc}'
          Root = '{self.dir / 'runc'}'
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = ['{b.cni_bin_dir}']
      conf_dir = '{self.dir / 'cni' / 'net.d'}'

  [plugins.'io.containerd.grpc.v1.cri']
    disable_tcp_service = true
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'
"""

    def _cni_config(self) -> dict[str, Any]:
        return {
            "cniVersion": "1.0.0",
            "name": "salvage",
            "plugins": [
                {
                    "type": "bridge", "bridge": host.BRIDGE, "isGateway": True, "ipMasq": False,
                    "hairpinMode": True,
                    "ipam": {
                        "type": "host-local",
                        "ranges": [[{"subnet": host.POD_SUBNET, "gateway": host.NODE_IP}]],
                        "routes": [{"dst": "0.0.0.0/0"}],
                        "dataDir": str(self.dir / "cni" / "ipam"),
                    },
                },
                {"type": "portmap", "capabilities": {"portMappings": True}},
            ],
        }

    def _kubelet_config(self, ca: Path, ports: dict[str, int]) -> dict[str, Any]:
        no_pressure = {"memory.available": "50Mi", "nodefs.available": "1%", "nodefs.inodesFree": "1%",
                       "imagefs.available": "1%"}
        return {
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "address": host.NODE_IP,
            "port": ports["kubelet"],
            "readOnlyPort": 0,
            "healthzBindAddress": "127.0.0.1",
            "healthzPort": ports["kubelet-healthz"],
            # Only clients with a certificate from the cluster's CA (the API server) get in.
            "authentication": {"anonymous": {"enabled": False}, "webhook": {"enabled": False},
                               "x509": {"clientCAFile": str(ca)}},
            "authorization": {"mode": "AlwaysAllow"},
            "containerRuntimeEndpoint": f"unix://{self.containerd_socket}",
            "cgroupDriver": "cgroupfs",
            "cgroupRoot": f"/{host.CGROUP_PARENT}",
            "failCgroupV1": False,
            "failSwapOn": False,
            # See restrict_oom_score_adj in containerd's config: kubelet may not lower its own.
            "oomScoreAdj": 0,
            "clusterDNS": [host.NODE_IP],
            "clusterDomain": CLUSTER_DOMAIN,
            "resolvConf": "",
            "podCIDR": host.POD_SUBNET,
            "podLogsDir": str(self.dir / "pod-logs"),
            "volumePluginDir": str(self.dir / "volume-plugins"),
            "evictionHard": no_pressure,
            # The images were imported, not pulled: never collect them.
            "imageGCHighThresholdPercent": 100,
            "imageGCLowThresholdPercent": 99,
            "serializeImagePulls": False,
            "registerNode": True,
            "syncFrequency": "10s",
            "fileCheckFrequency": "10s",
            "nodeStatusReportFrequency": "20s",
            "maxPods": 110,
        }

    def _proxy_config(self, ports: dict[str, int]) -> dict[str, Any]:
        return {
            "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
            "kind": "KubeProxyConfiguration",
            "clientConnection": {"kubeconfig": str(self.kubeconfig("kube-proxy"))},
            "mode": "iptables",
            "hostnameOverride": NODE_NAME,
            "clusterCIDR": host.POD_SUBNET,
            "bindAddress": host.NODE_IP,
            "healthzBindAddress": f"127.0.0.1:{ports['kube-proxy-healthz']}",
            "metricsBindAddress": f"127.0.0.1:{ports['kube-proxy-metrics']}",
            "nodePortAddresses": [f"{host.NODE_IP}/32"],
            # Leave the machine's conntrack table sizes and route_localnet alone.
            "conntrack": {"maxPerCore": 0, "min": 0},
            "iptables": {"localhostNodePorts": False},
        }

    def _corefile(self, ports: dict[str, int]) -> str:
        kubeconfig = self.kubeconfig("coredns")
        return f"""{CLUSTER_DOMAIN}:53 in-addr.arpa:53 ip6.arpa:53 {{
    bind {host.NODE_IP}
    errors
    health 127.0.0.1:{ports['coredns-health']}
    kubernetes {CLUSTER_DOMAIN} in-addr.arpa ip6.arpa {{
        kubeconfig {kubeconfig} salvage-{self.cluster_name}
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }}
    cache 30
}}
.:53 {{
    bind {host.NODE_IP}
    errors
    # Pods stay on this machine: names outside the cluster do not resolve.
    template ANY ANY {{
        rcode NXDOMAIN
    }}
}}
"""

    # -- processes -----------------------------------------------------------------------------
    def argv(self, b: NodeBinaries) -> dict[str, list[str]]:
        return {
            "containerd": [str(b.containerd), "--config", str(self.dir / "containerd" / "config.toml")],
            "hostpath-node": [
                sys.executable, "-m", "salvage", "driver", "hostpath-node", f"--node-id={NODE_NAME}",
                f"--kubelet-dir={self.kubelet_root}",
            ],
            "kubelet": [
                str(b.kubelet), f"--config={self.dir / 'kubelet.yaml'}",
                f"--kubeconfig={self.kubeconfig('kubelet')}", f"--root-dir={self.kubelet_root}",
                f"--cert-dir={self.dir / 'kubelet-pki'}",
                f"--hostname-override={NODE_NAME}", f"--node-ip={host.NODE_IP}",
                f"--node-labels={NODE_LABEL}=real", "--v=1",
            ],
            "kube-proxy": [str(b.kube_proxy), f"--config={self.dir / 'kube-proxy.yaml'}", "--v=1"],
            "coredns": [str(b.coredns), "-conf", str(self.dir / "coredns" / "Corefile")],
        }

    def env(self, b: NodeBinaries) -> dict[str, str]:
        """containerd finds its shim and runc on PATH; the CNI plugins need iptables."""
        path = os.pathsep.join([str(b.containerd.parent), str(b.runc.parent), os.environ.get("PATH", ""),
                                "/usr/sbin", "/sbin"])
        return {**os.environ, "PATH": path}

    def health_url(self, name: str, ports: dict[str, int]) -> str:
        return {
            "containerd": f"unix://{self.containerd_socket}",
            "hostpath-node": f"unix://{self.csi_socket}",
            "kubelet": f"http://127.0.0.1:{ports['kubelet-healthz']}/healthz",
            "kube-proxy": f"http://127.0.0.1:{ports['kube-proxy-healthz']}/healthz",
            "coredns": f"http://127.0.0.1:{ports['coredns-health']}/health",
        }[name]

    # -- images ----------------------------------------------------------------------------------
    def import_images(self, b: NodeBinaries, report: Any) -> list[str]:
        """Import every built image that containerd does not hold at the same digest, and
        pin it against kubelet's image garbage collection. Returns the refs imported."""
        present = self._image_digests(b)
        imported = []
        for image in images.ALL:
            if not image.built:
                report(f"image {image.ref} is not built, so pods cannot use it yet; "
                       f"`salvage dev images build {image.name}` builds and imports it")
                continue
            digest = images.image_digest(image)
            if present.get(image.ref) == digest:
                continue
            report(f"importing image {image.ref} into the node ...")
            self._ctr(b, "images", "import", "--no-unpack=false", str(image.archive))
            self._ctr(b, "images", "label", image.ref, PINNED_LABEL)
            imported.append(image.ref)
        return imported

    def _image_digests(self, b: NodeBinaries) -> dict[str, str]:
        out = self._ctr(b, "images", "ls")
        digests = {}
        for line in out.splitlines()[1:]:
            parts = line.split()
            if len(parts) >= 3:
                digests[parts[0]] = parts[2]
        return digests

    def _ctr(self, b: NodeBinaries, *args: str) -> str:
        cmd = [str(b.ctr), "--address", str(self.containerd_socket), "--namespace", "k8s.io", *args]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
        if result.returncode != 0:
            raise ClusterError(f"`ctr {' '.join(args)}` failed: {result.stderr.strip()}",
                               hint=f"containerd's log is {self.dir.parent / 'logs' / 'containerd.log'}.")
        return result.stdout

    # -- teardown --------------------------------------------------------------------------------
    def remove_pods(self, b: NodeBinaries) -> None:
        """Stop and remove every pod sandbox through the CRI, which runs each network's CNI DEL
        (veth, IP, hostport rules) and unmounts its namespace; containerd must be running."""
        if not _socket_answers(self.containerd_socket):
            return
        crictl = [str(b.crictl), "--runtime-endpoint", f"unix://{self.containerd_socket}", "--timeout", "30s"]
        subprocess.run([*crictl, "rmp", "--all", "--force"], capture_output=True, timeout=120)

    def leftover_processes(self) -> list[int]:
        """containerd shims of this node still alive (their command line names our socket)."""
        return host.processes_mentioning(str(self.containerd_socket))


def socket_answers(url: str) -> bool:
    return _socket_answers(Path(url.removeprefix("unix://")))


def _socket_answers(path: Path) -> bool:
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(2.0)
        try:
            sock.connect(str(path))
        except OSError:
            return False
    return True


def _write_kubeconfig(path: Path, server: str, ca: Path, token: str, cluster_name: str) -> None:
    ctx = f"salvage-{cluster_name}"
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": ctx,
        "clusters": [{"name": ctx, "cluster": {"server": server, "certificate-authority": str(ca)}}],
        "users": [{"name": ctx, "user": {"token": token}}],
        "contexts": [{"name": ctx, "context": {"cluster": ctx, "user": ctx}}],
    }
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    path.chmod(0o600)
