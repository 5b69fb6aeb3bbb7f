"""The operator: one reconciler per custom resource (BackupLocation, Backup, Restore),
each reading its object, calling an engine with a typed request and writing status; the
CRDs and the install manifests rendered from Python. No printing here (the CLI prints)."""
