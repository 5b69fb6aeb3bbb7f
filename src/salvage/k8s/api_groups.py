"""The API group paths Salvage calls outside the core group, each spelled once here."""

from __future__ import annotations

# The CSI snapshot API (an add-on: the external-snapshotter's CRDs).
SNAPSHOTS = "/apis/snapshot.storage.k8s.io/v1"
