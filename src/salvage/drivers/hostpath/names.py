"""Names the hostpath driver shares with Kubernetes and the snapshot-controller."""

DRIVER = "hostpath.salvage.io"
PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
VOLUME_FINALIZER = "hostpath.salvage.io/volume-protection"
HOSTNAME_LABEL = "kubernetes.io/hostname"

# Set by the upstream snapshot-controller; the sidecar's side of the contract is ours.
CONTENT_FINALIZER = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
BEING_DELETED = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
BEING_CREATED = "snapshot.storage.kubernetes.io/volumesnapshot-being-created"

SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
