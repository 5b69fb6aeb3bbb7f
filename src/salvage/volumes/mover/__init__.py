"""Data-mover pods: a claim's files copied into, or out of, the location's repository by a
short-lived pod of the ``salvage`` image that mounts the claim (docs/data-mover.md).

manifests.py builds the pod and its temporary Secret (pure); placement.py says where the pod
must run; diagnosis.py reads a pod's status and events into a verdict (pure); runner.py
creates, watches and removes them; cleanup.py removes what a killed run left behind.
"""

from salvage.volumes.mover.cleanup import sweep
from salvage.volumes.mover.manifests import LABEL_RUN, LABEL_TEMPORARY, MoverJob
from salvage.volumes.mover.runner import MoverError, MoverRunner, cancel_all

__all__ = ["LABEL_RUN", "LABEL_TEMPORARY", "MoverError", "MoverJob", "MoverRunner", "cancel_all", "sweep"]
