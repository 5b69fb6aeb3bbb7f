"""StatefulSet disaster recovery (seeds 000 and 002).

``recover`` re-creates a StatefulSet's volumes from a backup's snapshots under the claim
names its templates expect, then the StatefulSet itself, so it adopts them; ``clone``
starts a new StatefulSet whose claims take one VolumeSnapshot as their data source;
``rotate`` moves a StatefulSet to a newer snapshot by replacing it with a successor
(claim templates are immutable). Plans and names are pure (plan.py, naming.py,
manifests.py); the rest talks to the cluster.
"""
