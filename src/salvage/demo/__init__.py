"""``salvage demo``: seed 000's disaster and recovery, narrated, on the local cluster.

No container runs on the local cluster, so a thread of this process stands in for the
hello-stateful container: it appends the time to the volume's log once a second.
"""
