"""Settings of the data-mover pods (volumes/mover/), shared by front doors and engines."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from salvage import __version__

# The image the local cluster builds from this checkout (`salvage dev images build`), of this
# very version; a real cluster's users push it to their registry and name it with --mover-image.
DEFAULT_IMAGE = f"salvage.local/salvage:{__version__}"


@dataclass(frozen=True)
class MoverSettings:
    """How data-mover pods are made, where they may run and how long each phase may take."""

    image: str = DEFAULT_IMAGE
    pull_policy: str = "IfNotPresent"
    # Added to the placement the claim needs (its node, or none for RWX): e.g. a node pool.
    node_selector: Mapping[str, str] = field(default_factory=dict)
    requests: Mapping[str, str] = field(default_factory=lambda: {"cpu": "100m", "memory": "128Mi"})
    limits: Mapping[str, str] = field(default_factory=lambda: {"memory": "1Gi"})
    parallel_volumes: int = 2  # mover pods at once, in one backup or restore
    # Mover pods at once on one node, of every run in the cluster (0: no cap but the above).
    per_node: int = 0
    # Phases: scheduled and started (image, volume mount, Secret), then the copy itself.
    start_timeout: float = 120.0
    run_timeout: float = 3600.0
