"""The hostpath driver's CSI node plugin: kubelet calls it to mount a volume into a pod.

It plays the part a CSI driver's node DaemonSet plays (with node-driver-registrar beside it):
it serves the CSI Identity and Node services on a unix socket, and registers itself with
kubelet's plugin watcher through a second socket in kubelet's ``plugins_registry``. A volume
is a directory on this machine (the PV's ``volumeAttributes.path``, made by the provisioner),
so publishing it is a bind mount onto the target kubelet gives, read-only when asked, and
unpublishing is the unmount. Both are idempotent, as the CSI spec requires: kubelet retries.
"""

from __future__ import annotations

import logging
import os
import subprocess
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from salvage.drivers.hostpath import names
from salvage.drivers.hostpath.csi_messages import message

log = logging.getLogger("salvage.hostpath.node")

_VERSION = "0.1.0"


class NodePlugin:
    def __init__(self, node_id: str, csi_socket: Path, registration_dir: Path) -> None:
        self.node_id = node_id
        self.csi_socket = csi_socket
        self.registration_socket = registration_dir / f"{names.DRIVER}-reg.sock"
        self.registered = threading.Event()
        self._servers: list[grpc.Server] = []

    @classmethod
    def for_kubelet(cls, node_id: str, kubelet_dir: Path) -> NodePlugin:
        """The sockets where a CSI node DaemonSet puts them, under kubelet's root directory."""
        return cls(node_id, kubelet_dir / "plugins" / names.DRIVER / "csi.sock", kubelet_dir / "plugins_registry")

    # -- serving ---------------------------------------------------------------------------------
    def start(self) -> None:
        csi = self._server()
        csi.add_generic_rpc_handlers((
            _service("csi.v1.Identity", {
                "GetPluginInfo": (self.get_plugin_info, "csi.v1.GetPluginInfoRequest"),
                "GetPluginCapabilities": (_empty("csi.v1.GetPluginCapabilitiesResponse"),
                                          "csi.v1.GetPluginCapabilitiesRequest"),
                "Probe": (_empty("csi.v1.ProbeResponse"), "csi.v1.ProbeRequest"),
            }),
            _service("csi.v1.Node", {
                "NodePublishVolume": (self.publish, "csi.v1.NodePublishVolumeRequest"),
                "NodeUnpublishVolume": (self.unpublish, "csi.v1.NodeUnpublishVolumeRequest"),
                "NodeGetCapabilities": (_empty("csi.v1.NodeGetCapabilitiesResponse"),
                                        "csi.v1.NodeGetCapabilitiesRequest"),
                "NodeGetInfo": (self.get_info, "csi.v1.NodeGetInfoRequest"),
            }),
        ))
        self._listen(csi, self.csi_socket)
        registration = self._server()
        registration.add_generic_rpc_handlers((
            _service("pluginregistration.Registration", {
                "GetInfo": (self.registration_info, "pluginregistration.InfoRequest"),
                "NotifyRegistrationStatus": (self.registration_status, "pluginregistration.RegistrationStatus"),
            }),
        ))
        # Last: kubelet's watcher acts as soon as this socket appears.
        self._listen(registration, self.registration_socket)
        log.info("CSI node plugin for %s on %s, registering through %s", self.node_id, self.csi_socket,
                 self.registration_socket)

    def stop(self) -> None:
        for server in self._servers:
            server.stop(grace=1).wait()
        for socket in (self.registration_socket, self.csi_socket):
            socket.unlink(missing_ok=True)

    def _server(self) -> grpc.Server:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        self._servers.append(server)
        return server

    @staticmethod
    def _listen(server: grpc.Server, socket: Path) -> None:
        socket.parent.mkdir(parents=True, exist_ok=True)
        socket.unlink(missing_ok=True)
        server.add_insecure_port(f"unix://{socket}")
        server.start()

    # -- identity and registration ---------------------------------------------------------------
    def get_plugin_info(self, _request: Any, _context: grpc.ServicerContext) -> Any:
        return message("csi.v1.GetPluginInfoResponse")(name=names.DRIVER, vendor_version=_VERSION)

    def get_info(self, _request: Any, _context: grpc.ServicerContext) -> Any:
        return message("csi.v1.NodeGetInfoResponse")(node_id=self.node_id)

    def registration_info(self, _request: Any, _context: grpc.ServicerContext) -> Any:
        return message("pluginregistration.PluginInfo")(
            type="CSIPlugin", name=names.DRIVER, endpoint=str(self.csi_socket), supported_versions=["1.0.0"],
        )

    def registration_status(self, request: Any, _context: grpc.ServicerContext) -> Any:
        if request.plugin_registered:
            log.info("registered with kubelet")
            self.registered.set()
        else:
            log.error("kubelet refused the registration: %s", request.error)
        return message("pluginregistration.RegistrationStatusResponse")()

    # -- mounting ----------------------------------------------------------------------------------
    def publish(self, request: Any, context: grpc.ServicerContext) -> Any:
        source = request.volume_context.get("path", "")
        target = request.target_path
        if not request.volume_id or not target:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "volume_id and target_path are required")
        if not source or not os.path.isdir(source):
            context.abort(grpc.StatusCode.NOT_FOUND,
                          f"the directory of volume {request.volume_id} ({source or 'no path'}) does not exist")
        os.makedirs(target, exist_ok=True)
        if not _is_mount(target):
            _mount(["--bind", source, target], context)
            if request.readonly:
                _mount(["-o", "remount,bind,ro", target], context)
            log.info("published %s at %s%s", request.volume_id, target, " (read-only)" if request.readonly else "")
        return message("csi.v1.NodePublishVolumeResponse")()

    def unpublish(self, request: Any, context: grpc.ServicerContext) -> Any:
        target = request.target_path
        if not target:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "target_path is required")
        while _is_mount(target):
            result = subprocess.run(["umount", target], capture_output=True, text=True)
            if result.returncode != 0:
                context.abort(grpc.StatusCode.INTERNAL, f"umount {target}: {result.stderr.strip()}")
        if os.path.isdir(target):
            os.rmdir(target)
        log.info("unpublished %s from %s", request.volume_id, target)
        return message("csi.v1.NodeUnpublishVolumeResponse")()


def _is_mount(path: str) -> bool:
    """Whether ``path`` is a mount point. os.path.ismount cannot tell: a bind mount from the
    same filesystem has the same device as its parent."""
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as info:
        return any(line.split()[4].encode().decode("unicode_escape") == real for line in info)


def _mount(args: list[str], context: grpc.ServicerContext) -> None:
    result = subprocess.run(["mount", *args], capture_output=True, text=True)
    if result.returncode != 0:
        context.abort(grpc.StatusCode.INTERNAL, f"mount {' '.join(args)}: {result.stderr.strip()}")


def _empty(response: str) -> Any:
    return lambda _request, _context: message(response)()


def _service(name: str, methods: dict[str, tuple[Any, str]]) -> grpc.GenericRpcHandler:
    handlers = {}
    for method, (handler, request_type) in methods.items():
        request_class = message(request_type)
        handlers[method] = grpc.unary_unary_rpc_method_handler(
            handler,
            request_deserializer=request_class.FromString,
            response_serializer=lambda response: response.SerializeToString(),
        )
    return grpc.method_handlers_generic_handler(name, handlers)
