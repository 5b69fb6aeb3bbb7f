"""``salvage backup delete NAME``."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from salvage.cli.context import app_of
from salvage.cli.kube import kube_client
from salvage.cli.options import (
    AwsEndpointUrl, AzureCaBundle, AzureCredentials, AzureEndpoint, GceCredentials, GceEndpoint, Location, RepoPasswordFile, RepoPasswordSecret, repo_password,
)
from salvage.engines.deletion import delete_backup
from salvage.locations import open_location
from salvage.model.cloud_settings import AwsSettings, AzureSettings, GceSettings
from salvage.model.errors import UsageError


def delete(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Backup name.")],
    location: Location = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    aws_endpoint_url: AwsEndpointUrl = None,
    gce_endpoint: GceEndpoint = None,
    gce_credentials: GceCredentials = None,
    repo_password_file: RepoPasswordFile = None,
    repo_password_secret: RepoPasswordSecret = None,
    azure_endpoint: AzureEndpoint = None,
    azure_ca_bundle: AzureCaBundle = None,
    azure_credentials: AzureCredentials = None,
) -> None:
    """Delete a backup's objects and volume snapshots (file-level ones: in the repository).

    Examples:
      # Asks first; -y for scripts
      salvage backup delete wp-nightly
      salvage backup delete wp-nightly --location shared -y
    """
    app = app_of(ctx)
    target = open_location(location)
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"Deleting backup {name!r} needs confirmation.", hint="Pass --yes to delete without asking.")
        typer.confirm(f"Delete backup {name} and its volume snapshots from location {target.name}?", abort=True)
    with kube_client(app) as client:
        snapshots, objects = delete_backup(client, target, name, AwsSettings(endpoint_url=aws_endpoint_url),
                                           repo_password(app, repo_password_file, repo_password_secret),
                                           GceSettings(endpoint=gce_endpoint, credentials=gce_credentials),
                                           AzureSettings(endpoint=azure_endpoint, ca_bundle=azure_ca_bundle,
                                                         credentials=azure_credentials))
    app.terminal.info(f"deleted backup {name}: {objects} object(s), {snapshots} volume snapshot(s)")
