"""``salvage location add NAME``."""

from __future__ import annotations

from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.engines.location_checks import probe_location
from salvage.locations import LocationSpec, open_location, save_location, validate
from salvage.model.errors import SalvageError, UsageError


def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Location name.")],
    provider: Annotated[str, typer.Option("--provider", help="filesystem, s3, azure or gcs.")] = "filesystem",
    path: Annotated[str | None, typer.Option("--path", help="Directory (filesystem).")] = None,
    bucket: Annotated[str | None, typer.Option("--bucket", help="Bucket or container (s3, azure, gcs).")] = None,
    prefix: Annotated[str, typer.Option("--prefix", help="Key prefix inside the bucket.")] = "",
    endpoint: Annotated[str | None, typer.Option("--endpoint", help="Service URL (S3-compatible servers, emulators).")] = None,
    pod_endpoint: Annotated[str | None, typer.Option(
        "--pod-endpoint", help="Service URL as data-mover pods reach it (default: --endpoint).")] = None,
    region: Annotated[str | None, typer.Option("--region", help="Region of the bucket (s3; default: the provider's usual settings).")] = None,
    access_mode: Annotated[str, typer.Option("--access-mode", help="ReadWrite or ReadOnly.")] = "ReadWrite",
    credential: Annotated[list[str] | None, typer.Option(
        "--credential", help="KEY=VALUE provider setting (e.g. aws_access_key_id=...); prefer the provider's env vars.")] = None,
    check: Annotated[bool, typer.Option(
        "--check/--no-check", help="Reach and list the location before saving it (it is never written to); "
                                   "--no-check saves it unchecked.")] = True,
) -> None:
    """Add a backup location to the config file, once it is reached and listed.

    Nothing is written to the location. One that cannot be reached is not saved, unless
    --no-check; check writing to it with `salvage location check NAME`.

    Examples:
      # A directory
      salvage location add nas --path /mnt/nas/salvage

      # An S3 bucket (credentials from AWS_* variables); checked before it is saved
      salvage location add shared --provider s3 --bucket backups --region eu-west-1

      # A local MinIO (see `salvage dev servers up minio`), and a restore-only one
      salvage location add local-s3 --provider s3 --bucket salvage \\
          --endpoint http://127.0.0.1:9000 --credential access_key_id=... \\
          --credential secret_access_key=...
      salvage location add prod --provider gcs --bucket prod --access-mode ReadOnly
    """
    creds = {}
    for item in credential or []:
        key, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--credential {item!r} is not KEY=VALUE.")
        creds[key] = value
    spec = validate(LocationSpec(
        name=name, provider=provider, bucket=(path if provider == "filesystem" else bucket) or "",
        prefix=prefix, endpoint=endpoint, region=region, access_mode=access_mode, credentials=creds,
        pod_endpoint=pod_endpoint))
    reached = ""
    if check:
        checks = probe_location(open_location(spec), write=False)
        failed = next((c for c in checks if c.failed), None)
        if failed:
            raise SalvageError(f"Location {name} was not added: {failed.detail}",
                               hint="Fix the settings and run the command again, or add it with --no-check "
                                    "to save it as it is.")
        reached = f"; reached: {checks[0].detail}"
    save_location(spec)
    app_of(ctx).terminal.info(f"location {name} added ({spec.describe()}, {spec.access_mode}{reached}); "
                              f"check writing to it with `salvage location check {name}`")
