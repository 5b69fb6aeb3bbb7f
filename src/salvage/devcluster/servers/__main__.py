"""``python -m salvage.devcluster.servers``: build and install every test server, then exit.

The test command runs this before pytest so that cold builds show their progress here
and not inside a fixture's timeout.
"""

from __future__ import annotations

import sys

from salvage.devcluster.servers.install import ensure_servers
from salvage.model.errors import SalvageError


def main() -> int:
    try:
        binaries = ensure_servers(lambda msg: print(msg, flush=True))
    except SalvageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(f"test servers ready (minio: {binaries.minio})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
