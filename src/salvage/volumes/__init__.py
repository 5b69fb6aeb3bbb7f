"""How volume data is captured and re-created (CSI snapshots now; cloud disks and file-level
backup through the repository later). Only this package talks snapshot APIs for backups."""
