"""StatefulSet disaster recovery (seeds 000 and 002).

``recover`` re-creates a StatefulSet's volumes from a source (a backup, or VolumeSnapshots
in the namespace; ``source.py``) under the claim names its templates expect, then the
StatefulSet itself, so it adopts them; ``clone`` starts a new StatefulSet whose claims
take one VolumeSnapshot as their data source; ``rotate`` moves a StatefulSet to a newer snapshot by replacing it with a successor
(claim templates are immutable). Plans, names and snapshot choices are pure (plan.py,
naming.py, manifests.py, snapshot_choice.py); the rest talks to the cluster.
"""
