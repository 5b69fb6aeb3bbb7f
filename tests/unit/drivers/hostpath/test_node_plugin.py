"""The CSI node plugin over its real gRPC sockets: what kubelet asks, and real bind mounts
(these tests run as root, as the plugin does)."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from salvage.drivers.hostpath.csi_messages import message
from salvage.drivers.hostpath.node_plugin import NodePlugin, _is_mount

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="bind mounts need root, as the plugin itself does")


@pytest.fixture
def plugin() -> Iterator[NodePlugin]:
    # Unix socket paths are limited to 107 bytes: pytest's tmp_path (longer under xdist) is not.
    with tempfile.TemporaryDirectory(prefix="np-") as short:
        node = NodePlugin("node-a", Path(short) / "csi" / "csi.sock", Path(short) / "registry")
        node.start()
        yield node
        node.stop()


def call(socket: Path, service: str, method: str, request: Any, response: str) -> Any:
    with grpc.insecure_channel(f"unix://{socket}") as channel:
        stub = channel.unary_unary(f"/{service}/{method}", request_serializer=lambda r: r.SerializeToString(),
                                   response_deserializer=message(response).FromString)
        return stub(request, timeout=10)


def publish(plugin: NodePlugin, source: Path, target: Path, *, readonly: bool = False) -> Any:
    request = message("csi.v1.NodePublishVolumeRequest")(
        volume_id="pvc-1", target_path=str(target), readonly=readonly, volume_context={"path": str(source)})
    return call(plugin.csi_socket, "csi.v1.Node", "NodePublishVolume", request, "csi.v1.NodePublishVolumeResponse")


def unpublish(plugin: NodePlugin, target: Path) -> Any:
    request = message("csi.v1.NodeUnpublishVolumeRequest")(volume_id="pvc-1", target_path=str(target))
    return call(plugin.csi_socket, "csi.v1.Node", "NodeUnpublishVolume", request,
                "csi.v1.NodeUnpublishVolumeResponse")


def test_registration_points_kubelet_at_the_csi_socket(plugin: NodePlugin) -> None:
    info = call(plugin.registration_socket, "pluginregistration.Registration", "GetInfo",
                message("pluginregistration.InfoRequest")(), "pluginregistration.PluginInfo")
    assert (info.type, info.name, info.endpoint) == ("CSIPlugin", "hostpath.salvage.io", str(plugin.csi_socket))
    assert list(info.supported_versions) == ["1.0.0"]
    call(plugin.registration_socket, "pluginregistration.Registration", "NotifyRegistrationStatus",
         message("pluginregistration.RegistrationStatus")(plugin_registered=True),
         "pluginregistration.RegistrationStatusResponse")
    assert plugin.registered.is_set()


def test_identity_and_node_info(plugin: NodePlugin) -> None:
    info = call(plugin.csi_socket, "csi.v1.Identity", "GetPluginInfo", message("csi.v1.GetPluginInfoRequest")(),
                "csi.v1.GetPluginInfoResponse")
    assert info.name == "hostpath.salvage.io"
    node = call(plugin.csi_socket, "csi.v1.Node", "NodeGetInfo", message("csi.v1.NodeGetInfoRequest")(),
                "csi.v1.NodeGetInfoResponse")
    assert node.node_id == "node-a"


def test_publish_bind_mounts_the_volume_and_unpublish_removes_it(plugin: NodePlugin, tmp_path: Path) -> None:
    source, target = tmp_path / "volume", tmp_path / "pod" / "mount"
    source.mkdir()
    (source / "data.txt").write_text("kept")
    publish(plugin, source, target)
    publish(plugin, source, target)  # kubelet retries: the second call is a no-op
    try:
        assert _is_mount(str(target))
        assert (target / "data.txt").read_text() == "kept"
        (target / "new.txt").write_text("written through the mount")
        assert (source / "new.txt").read_text() == "written through the mount"
    finally:
        unpublish(plugin, target)
    assert not target.exists()
    unpublish(plugin, target)  # and unpublishing what is gone succeeds too


def test_a_read_only_publish_refuses_writes(plugin: NodePlugin, tmp_path: Path) -> None:
    source, target = tmp_path / "volume", tmp_path / "ro"
    source.mkdir()
    publish(plugin, source, target, readonly=True)
    try:
        with pytest.raises(OSError) as error:
            (target / "x").write_text("no")
        assert error.value.errno == 30  # EROFS
    finally:
        unpublish(plugin, target)


def test_a_missing_volume_directory_is_not_found(plugin: NodePlugin, tmp_path: Path) -> None:
    with pytest.raises(grpc.RpcError) as error:
        publish(plugin, tmp_path / "gone", tmp_path / "target")
    assert error.value.code() is grpc.StatusCode.NOT_FOUND
    assert "pvc-1" in (error.value.details() or "")
    assert not (tmp_path / "target").exists()
