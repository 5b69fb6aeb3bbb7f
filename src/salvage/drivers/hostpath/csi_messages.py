"""The few protobuf messages the hostpath node plugin speaks, declared in code.

kubelet talks to a CSI node plugin over gRPC (the CSI spec's ``csi.v1`` Identity and Node
services) and discovers it through its plugin-registration service (``pluginregistration``).
Only the fields this plugin reads or writes are declared here, with the field numbers of the
published ``.proto`` files (CSI spec v1.9, k8s.io/kubelet pluginregistration v1); protobuf
skips fields a message does not declare, so the requests kubelet sends parse as they are.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_STRING = descriptor_pb2.FieldDescriptorProto.TYPE_STRING
_BOOL = descriptor_pb2.FieldDescriptorProto.TYPE_BOOL
_INT64 = descriptor_pb2.FieldDescriptorProto.TYPE_INT64
_MESSAGE = descriptor_pb2.FieldDescriptorProto.TYPE_MESSAGE
_OPTIONAL = descriptor_pb2.FieldDescriptorProto.LABEL_OPTIONAL
_REPEATED = descriptor_pb2.FieldDescriptorProto.LABEL_REPEATED

# message name -> [(field, number, type, repeated, message type or map)]
_CSI: dict[str, list[tuple[str, int, int, bool, str]]] = {
    "GetPluginInfoRequest": [],
    "GetPluginInfoResponse": [("name", 1, _STRING, False, ""), ("vendor_version", 2, _STRING, False, "")],
    "GetPluginCapabilitiesRequest": [],
    "GetPluginCapabilitiesResponse": [],
    "ProbeRequest": [],
    "ProbeResponse": [],
    "NodePublishVolumeRequest": [
        ("volume_id", 1, _STRING, False, ""),
        ("target_path", 4, _STRING, False, ""),
        ("readonly", 6, _BOOL, False, ""),
        ("volume_context", 8, _MESSAGE, True, "map"),
    ],
    "NodePublishVolumeResponse": [],
    "NodeUnpublishVolumeRequest": [("volume_id", 1, _STRING, False, ""), ("target_path", 2, _STRING, False, "")],
    "NodeUnpublishVolumeResponse": [],
    "NodeGetCapabilitiesRequest": [],
    "NodeGetCapabilitiesResponse": [],
    "NodeGetInfoRequest": [],
    "NodeGetInfoResponse": [("node_id", 1, _STRING, False, ""), ("max_volumes_per_node", 2, _INT64, False, "")],
}

_REGISTRATION: dict[str, list[tuple[str, int, int, bool, str]]] = {
    "InfoRequest": [],
    "PluginInfo": [
        ("type", 1, _STRING, False, ""), ("name", 2, _STRING, False, ""),
        ("endpoint", 3, _STRING, False, ""), ("supported_versions", 4, _STRING, True, ""),
    ],
    "RegistrationStatus": [("plugin_registered", 1, _BOOL, False, ""), ("error", 2, _STRING, False, "")],
    "RegistrationStatusResponse": [],
}


def _file(name: str, package: str, messages: dict[str, list[tuple[str, int, int, bool, str]]]) -> Any:
    proto = descriptor_pb2.FileDescriptorProto(name=name, package=package, syntax="proto3")
    for message_name, fields in messages.items():
        message = proto.message_type.add(name=message_name)
        for field_name, number, kind, repeated, type_name in fields:
            field = message.field.add(name=field_name, number=number, type=kind,
                                      label=_REPEATED if repeated else _OPTIONAL)
            if type_name == "map":
                entry_name = "".join(part.title() for part in field_name.split("_")) + "Entry"
                entry = message.nested_type.add(name=entry_name)
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_STRING, label=_OPTIONAL)
                entry.field.add(name="value", number=2, type=_STRING, label=_OPTIONAL)
                field.type_name = f".{package}.{message_name}.{entry_name}"
    return proto


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file("salvage_csi.proto", "csi.v1", _CSI))
_POOL.Add(_file("salvage_pluginregistration.proto", "pluginregistration", _REGISTRATION))


def message(full_name: str) -> Any:
    """The message class for ``csi.v1.NodeGetInfoResponse`` and the like."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(full_name))
