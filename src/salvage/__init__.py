"""Salvage: backup and disaster recovery for stateful Kubernetes workloads.

The package has two front doors (``salvage.cli`` and, later, ``salvage.operator``) over
shared engines. See docs/ARCHITECTURE.md for the layers and the direction of imports.
"""

__version__ = "0.1.0"
