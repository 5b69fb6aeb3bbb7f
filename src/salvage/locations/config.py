"""The location definitions file: read, validate, write."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from salvage.model.errors import NotFoundError, UsageError

PROVIDERS = ("filesystem", "s3", "azure", "gcs")
ACCESS_MODES = ("ReadWrite", "ReadOnly")
DEFAULT_NAME = "default"


@dataclass(frozen=True)
class LocationSpec:
    name: str
    provider: str
    bucket: str  # the directory, for filesystem
    prefix: str = ""
    endpoint: str | None = None
    region: str | None = None
    access_mode: str = "ReadWrite"
    # Names of provider settings (obstore config keys, e.g. aws_access_key_id) to values.
    # Prefer the provider's environment variables; these are for test servers and demos.
    credentials: dict[str, str] = field(default_factory=dict)
    # The endpoint as data-mover pods reach it, when it differs from the CLI's (a server on
    # the CLI machine's loopback, reached from pods at the node's address).
    pod_endpoint: str | None = None

    @property
    def read_only(self) -> bool:
        return self.access_mode == "ReadOnly"

    def describe(self) -> str:
        if self.provider == "filesystem":
            return self.bucket
        scheme = {"s3": "s3", "azure": "az", "gcs": "gs"}[self.provider]
        return f"{scheme}://{self.bucket}/{self.prefix}".rstrip("/")

    def to_json(self, *, secrets: bool = False) -> dict[str, Any]:
        data = asdict(self)
        if not secrets:
            data["credentials"] = {k: "***" for k in self.credentials}
        return data


def config_dir() -> Path:
    env = os.environ.get("SALVAGE_CONFIG_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "salvage"


def data_dir() -> Path:
    env = os.environ.get("SALVAGE_DATA_DIR")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "salvage"


def _file() -> Path:
    return config_dir() / "locations.yaml"


def _default() -> LocationSpec:
    return LocationSpec(name=DEFAULT_NAME, provider="filesystem", bucket=str(data_dir() / "backups"))


def validate(spec: LocationSpec) -> LocationSpec:
    if spec.provider not in PROVIDERS:
        raise UsageError(f"Unknown provider {spec.provider!r} for location {spec.name!r}.",
                         hint=f"Use one of: {', '.join(PROVIDERS)}.")
    if spec.access_mode not in ACCESS_MODES:
        raise UsageError(f"Unknown access mode {spec.access_mode!r} for location {spec.name!r}.",
                         hint="Use ReadWrite or ReadOnly.")
    if not spec.name or not spec.name.replace("-", "").replace("_", "").isalnum():
        raise UsageError(f"{spec.name!r} is not a valid location name.",
                         hint="Use letters, digits, '-' and '_'.")
    if not spec.bucket:
        what = "a directory (--path)" if spec.provider == "filesystem" else "a bucket (--bucket)"
        raise UsageError(f"Location {spec.name!r} needs {what}.")
    for endpoint in (spec.endpoint, spec.pod_endpoint):
        if endpoint is not None:
            _validate_endpoint(spec, endpoint)
    return spec


def _validate_endpoint(spec: LocationSpec, endpoint: str) -> None:
    if spec.provider == "filesystem":
        raise UsageError(f"Location {spec.name!r} is a directory; it takes no endpoint.",
                         hint="Leave --endpoint and --pod-endpoint out, or give --provider s3, azure or gcs.")
    parts = urlsplit(endpoint)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise UsageError(f"The endpoint {endpoint!r} of location {spec.name!r} is not an http(s) URL "
                         "with a host.", hint="Write it whole, e.g. http://127.0.0.1:9000 or https://s3.example.com.")


def _read_all() -> dict[str, LocationSpec]:
    path = _file()
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raw = {}
    except yaml.YAMLError as exc:
        raise UsageError(f"The locations file {path} is not valid YAML: {exc}",
                         hint="Fix or remove it, then run the command again.") from exc
    specs = {DEFAULT_NAME: _default()}
    for name, entry in (raw.get("locations") or {}).items():
        specs[name] = LocationSpec(name=name, **entry)
    return specs


def _write_all(specs: dict[str, LocationSpec]) -> None:
    path = _file()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"locations": {
        name: {k: v for k, v in asdict(spec).items() if k != "name"}
        for name, spec in specs.items() if not (name == DEFAULT_NAME and spec == _default())
    }}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(body, sort_keys=False))
    tmp.chmod(0o600)  # it may hold credentials
    tmp.replace(path)


def list_locations() -> list[LocationSpec]:
    return sorted(_read_all().values(), key=lambda s: s.name)


def get_location(name: str | None) -> LocationSpec:
    name = name or os.environ.get("SALVAGE_LOCATION") or DEFAULT_NAME
    specs = _read_all()
    if name not in specs:
        raise NotFoundError(f"There is no backup location named {name!r}.",
                            hint="List them with `salvage location get`; add one with `salvage location add`.")
    return specs[name]


def save_location(spec: LocationSpec, *, replace: bool = False) -> None:
    specs = _read_all()
    if spec.name in specs and not replace and spec.name != DEFAULT_NAME:
        raise UsageError(f"Location {spec.name!r} already exists.",
                         hint="Delete it first with `salvage location delete`, or choose another name.")
    specs[spec.name] = validate(spec)
    _write_all(specs)


def delete_location(name: str) -> None:
    specs = _read_all()
    if name not in specs or (name == DEFAULT_NAME and specs[name] == _default()):
        raise NotFoundError(f"There is no backup location named {name!r} to delete.",
                            hint="List them with `salvage location get`.")
    del specs[name]
    _write_all(specs)
