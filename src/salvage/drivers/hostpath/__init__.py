"""The hostpath storage driver: a dynamic provisioner and snapshotter for directories on a
node, the single-node storage that lets Salvage run for real on one machine.

It plays the parts that external-provisioner and the csi-snapshotter sidecar play for a
CSI driver, beside the upstream snapshot-controller: PVs are CSI volumes of driver
``hostpath.salvage.io`` (so the snapshot-controller accepts them as snapshot sources), each
one a directory under ``--root``; snapshots are point-in-time copies of those directories.

The controller is level-based: each pass lists the objects it cares about and moves each
one step towards its desired state, so a restart at any point simply continues. All
on-disk changes are made in a staging directory and renamed into place, so a crash never
leaves a half-copied volume or snapshot that looks complete.
"""
