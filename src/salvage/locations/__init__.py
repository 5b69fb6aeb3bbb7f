"""Named backup locations: where backups live, and how to open them.

Definitions are kept in ``locations.yaml`` under the user's config dir
(``$SALVAGE_CONFIG_DIR``, default ``~/.config/salvage``). A location named ``default``
always exists: a filesystem location under the user's data dir, so Salvage works with no
server at all. A ReadOnly location's store refuses every write (and counts attempts), so
restoring from another cluster's backups can never change them.
"""

from salvage.locations.config import (
    ACCESS_MODES,
    PROVIDERS,
    LocationSpec,
    delete_location,
    get_location,
    list_locations,
    save_location,
    validate,
)
from salvage.locations.open import Location, open_location

__all__ = [
    "ACCESS_MODES", "PROVIDERS", "Location", "LocationSpec", "delete_location", "get_location",
    "list_locations", "open_location", "save_location", "validate",
]
