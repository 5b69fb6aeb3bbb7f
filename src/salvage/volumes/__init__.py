"""How volume data is captured and re-created: one interface every volume method implements
(method.py), registered by name (registry.py): ``csi-snapshot`` (csi_snapshots), ``aws-ebs``
(cloud_disks over aws_ebs, the one provider behind base.py so far) and ``fs`` (files into
the location's repository). The only package that imports cloud SDKs."""
