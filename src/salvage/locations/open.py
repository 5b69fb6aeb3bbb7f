"""Open a location's object store (read-only stores refuse and count writes)."""

from __future__ import annotations

from dataclasses import dataclass

from salvage.locations.config import LocationSpec, get_location
from salvage.storage.counting import CountingStore
from salvage.storage.factory import StoreConfig, open_store


@dataclass(frozen=True)
class Location:
    spec: LocationSpec
    store: CountingStore

    @property
    def name(self) -> str:
        return self.spec.name


def open_location(name_or_spec: str | LocationSpec | None = None) -> Location:
    spec = name_or_spec if isinstance(name_or_spec, LocationSpec) else get_location(name_or_spec)
    config = StoreConfig(
        provider="local" if spec.provider == "filesystem" else spec.provider,
        bucket=spec.bucket,
        prefix=spec.prefix,
        endpoint=spec.endpoint,
        region=spec.region,
        credentials=dict(spec.credentials),
    )
    if spec.provider == "filesystem" and spec.prefix:
        config = StoreConfig(provider="local", bucket=f"{spec.bucket.rstrip('/')}/{spec.prefix}")
    return Location(spec, CountingStore(open_store(config), read_only=spec.read_only))
