"""The pinned versions of every control-plane component and how each one is built."""

from __future__ import annotations

from dataclasses import dataclass, field

KUBERNETES_VERSION = "v1.33.13"
KWOK_VERSION = "v0.7.0"
SNAPSHOTTER_VERSION = "v8.6.0"

_K8S_LDFLAGS = " ".join(
    f"-X {pkg}.{key}={value}"
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version")
    for key, value in (
        ("gitVersion", KUBERNETES_VERSION),
        ("gitMajor", "1"),
        ("gitMinor", KUBERNETES_VERSION.split(".")[1]),
        ("gitTreeState", "clean"),
    )
)


@dataclass(frozen=True)
class GoComponent:
    """A set of binaries built from Go packages, either in one of our build modules
    (``build_module``: a folder under ``gobuild/`` with its go.mod) or with ``go install``."""

    name: str
    version: str
    packages: tuple[str, ...]
    build_module: str | None = None
    ldflags: str = ""
    # Files copied out of the Go module cache next to the binaries: (module@version, subdir).
    assets: tuple[tuple[str, str], ...] = field(default=())
    # Build tags, and cgo for the few that need C (runc's seccomp through libseccomp).
    tags: str = ""
    cgo: bool = False
    # A module whose go.mod `go install` refuses (exclude directives): build inside a copy of
    # its own source, packages given relative to it ("./cmd/x").
    source_module: str | None = None

    @property
    def binaries(self) -> tuple[str, ...]:
        return tuple(pkg.rstrip("/").rsplit("/", 1)[-1] for pkg in self.packages)

    @property
    def key(self) -> str:
        return f"{self.name}-{self.version}"


KUBERNETES = GoComponent(
    name="kubernetes",
    version=KUBERNETES_VERSION,
    build_module="kubernetes",
    packages=(
        "k8s.io/kubernetes/cmd/kube-apiserver",
        "k8s.io/kubernetes/cmd/kube-controller-manager",
        "k8s.io/kubernetes/cmd/kube-scheduler",
        "k8s.io/kubernetes/cmd/kubectl",
    ),
    ldflags=_K8S_LDFLAGS,
)

KWOK = GoComponent(
    name="kwok",
    version=KWOK_VERSION,
    packages=("sigs.k8s.io/kwok/cmd/kwok",),
    ldflags=f"-X sigs.k8s.io/kwok/pkg/consts.Version={KWOK_VERSION}",
    assets=((f"sigs.k8s.io/kwok@{KWOK_VERSION}", "kustomize/crd/bases"),),
)

SNAPSHOTTER = GoComponent(
    name="snapshotter",
    version=SNAPSHOTTER_VERSION,
    build_module="snapshotter",
    packages=("github.com/kubernetes-csi/external-snapshotter/v8/cmd/snapshot-controller",),
    ldflags=f"-X main.version={SNAPSHOTTER_VERSION}",
    assets=(
        (f"github.com/kubernetes-csi/external-snapshotter/client/v8@{SNAPSHOTTER_VERSION}", "config/crd"),
    ),
)

GO_COMPONENTS = (KUBERNETES, KWOK, SNAPSHOTTER)

# The real node: kubelet and kube-proxy from the control plane's build module, a container
# runtime (containerd, runc), the CNI plugins for pod networking, crictl for tearing pods
# down on `cluster down`, and CoreDNS for cluster DNS. Versions as proven on this kind of
# machine (docs/real-node.md).
CONTAINERD_VERSION = "v2.1.5"
RUNC_VERSION = "v1.3.7"
CNI_PLUGINS_VERSION = "v1.7.1"
CRICTL_VERSION = "v1.34.0"
COREDNS_VERSION = "v1.12.4"

KUBERNETES_NODE = GoComponent(
    name="kubernetes-node",
    version=KUBERNETES_VERSION,
    build_module="kubernetes",
    packages=("k8s.io/kubernetes/cmd/kubelet", "k8s.io/kubernetes/cmd/kube-proxy"),
    ldflags=_K8S_LDFLAGS,
)

CONTAINERD = GoComponent(
    name="containerd",
    version=CONTAINERD_VERSION,
    source_module="github.com/containerd/containerd/v2",
    packages=("./cmd/containerd", "./cmd/ctr", "./cmd/containerd-shim-runc-v2"),
    tags="no_btrfs no_devmapper no_zfs",
    ldflags=f"-X github.com/containerd/containerd/v2/version.Version={CONTAINERD_VERSION}",
)

RUNC = GoComponent(
    name="runc",
    version=RUNC_VERSION,
    packages=("github.com/opencontainers/runc",),
    tags="seccomp",
    cgo=True,
)

CNI_PLUGINS = GoComponent(
    name="cni-plugins",
    version=CNI_PLUGINS_VERSION,
    packages=tuple(
        f"github.com/containernetworking/plugins/plugins/{p}"
        for p in ("main/bridge", "ipam/host-local", "main/loopback", "meta/portmap")
    ),
)

CRICTL = GoComponent(
    name="crictl",
    version=CRICTL_VERSION,
    packages=("sigs.k8s.io/cri-tools/cmd/crictl",),
)

COREDNS = GoComponent(
    name="coredns",
    version=COREDNS_VERSION,
    packages=("github.com/coredns/coredns",),
)

NODE_COMPONENTS = (KUBERNETES_NODE, CONTAINERD, RUNC, CNI_PLUGINS, CRICTL, COREDNS)

# etcd comes from Debian's etcd-server package (installed by scripts/install-deps).
ETCD_BINARY = "etcd"

# Test servers (see servers.py). MinIO publishes no semver tags (its releases are tags
# like RELEASE.2025-...), so the Go module proxy only knows pseudo-versions; this is the
# newest one. Its go.mod has no replace lines, so a plain `go install` builds it.
MINIO_VERSION = "v0.0.0-20260212201848-7aac2a2c5b7c"
# No release up to v1.56.1 serves the XML API that obstore writes with, so Salvage writes GCS
# through the JSON API (docs/test-servers.md, "GCS writes"); when a release does,
# test_gcs_obstore_put_is_refused_by_the_server fails and says so.
FAKE_GCS_VERSION = "v1.53.1"

MINIO = GoComponent(
    name="minio",
    version=MINIO_VERSION,
    packages=("github.com/minio/minio",),
)

FAKE_GCS = GoComponent(
    name="fake-gcs-server",
    version=FAKE_GCS_VERSION,
    packages=("github.com/fsouza/fake-gcs-server",),
)

# Toxiproxy, a TCP proxy whose faults ("toxics": latency, bandwidth, resets, timeouts) are
# set over its HTTP API, stands between Salvage and a store or the API server in
# tests/faults. Its go.mod has no replace lines; the server's binary is named `server`.
TOXIPROXY_VERSION = "v2.12.0"

TOXIPROXY = GoComponent(
    name="toxiproxy",
    version=TOXIPROXY_VERSION,
    packages=("github.com/Shopify/toxiproxy/v2/cmd/server",),
    ldflags=f"-X github.com/Shopify/toxiproxy/v2.Version={TOXIPROXY_VERSION}",
)

# promtool, Prometheus's rule checker and rule unit-test runner: tests/unit/operator
# checks deploy/alerts.yaml with `promtool check rules` and proves each alert fires (and
# stays quiet) with `promtool test rules`. Its go.mod has no replace or exclude lines.
PROMETHEUS_VERSION = "v0.316.0"  # the Go module's version of Prometheus 3.16

PROMTOOL = GoComponent(
    name="promtool",
    version=PROMETHEUS_VERSION,
    packages=("github.com/prometheus/prometheus/cmd/promtool",),
    ldflags=f"-X github.com/prometheus/common/version.Version={PROMETHEUS_VERSION}",
)

SERVER_COMPONENTS = (MINIO, FAKE_GCS, TOXIPROXY, PROMTOOL)

# Azurite comes from the npm registry. 3.36 and later declare Node >= 21; Debian's
# Node (and this project's machines) are Node 20, so stay on the newest 3.35.
AZURITE_VERSION = "3.35.0"
