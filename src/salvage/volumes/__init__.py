"""How volume data is captured and re-created: CSI snapshots (csi_snapshots) and cloud disks
behind one Protocol (base, providers; AWS EBS now). The only package that imports cloud SDKs."""
