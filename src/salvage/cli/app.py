"""The root ``salvage`` command: global options, sub-commands, and error reporting."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from salvage import __version__
from salvage.cli.context import App
from salvage.cli.backup import app as backup_app
from salvage.cli.demo import demo
from salvage.cli.dev import app as dev_app
from salvage.cli.driver import app as driver_app
from salvage.cli.fs import app as fs_app
from salvage.cli.location import app as location_app
from salvage.cli.repo import app as repo_app
from salvage.cli.restore import app as restore_app
from salvage.cli.snapshot import app as snapshot_app
from salvage.cli.statefulset import app as statefulset_app
from salvage.cli.output import OutputFormat, Terminal
from salvage.model.errors import SalvageError

app = typer.Typer(
    name="salvage",
    help="Backup and disaster recovery for stateful Kubernetes workloads.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(backup_app, name="backup")
app.add_typer(restore_app, name="restore")
app.add_typer(location_app, name="location")
app.add_typer(dev_app, name="dev")
app.add_typer(driver_app, name="driver")
app.add_typer(repo_app, name="repo")
app.add_typer(fs_app, name="fs")
app.add_typer(snapshot_app, name="snapshot")
app.add_typer(statefulset_app, name="statefulset")
app.command()(demo)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"salvage {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    kubeconfig: Annotated[
        str | None,
        typer.Option("--kubeconfig", envvar="KUBECONFIG", help="Path to the kubeconfig file."),
    ] = None,
    context: Annotated[
        str | None,
        typer.Option("--context", envvar="SALVAGE_CONTEXT", help="Kubeconfig context to use."),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option("--output", "-o", envvar="SALVAGE_OUTPUT", help="Output format."),
    ] = OutputFormat.table,
    debug: Annotated[
        bool, typer.Option("--debug", envvar="SALVAGE_DEBUG", help="Show tracebacks on errors.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_print_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = App(
        kubeconfig=kubeconfig,
        context=context,
        output=output,
        debug=debug,
        terminal=Terminal(output, debug=debug),
    )


def main() -> None:
    """Console entry point: run the app, turning our errors into messages and exit codes."""
    debug = "--debug" in sys.argv or _env_flag("SALVAGE_DEBUG")
    try:
        rc = app(standalone_mode=False)
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except SalvageError as exc:
        if debug:
            raise
        Terminal().error(exc.message, exc.hint)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        Terminal().error("interrupted")
        sys.exit(130)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        Terminal().error("aborted")
        sys.exit(1)
    except Exception as exc:  # noqa: BLE001 - last line of defence for the user
        if debug:
            raise
        if _is_click_exception(exc):
            exc.show()  # type: ignore[attr-defined]
            sys.exit(exc.exit_code)  # type: ignore[attr-defined]
        Terminal().error(
            f"unexpected {type(exc).__name__}: {exc}",
            "Run the command again with --debug for the traceback, and report it.",
        )
        sys.exit(1)


def _is_click_exception(exc: Exception) -> bool:
    """A usage error from the command-line parser (an unknown option, a bad value).

    Newer typer releases carry their own copy of click, whose exceptions are not
    ``click.ClickException``; both kinds have ``show()`` and an ``exit_code``."""
    import click

    if isinstance(exc, click.ClickException):
        return True
    return any(cls.__name__ == "ClickException" for cls in type(exc).__mro__) and callable(getattr(exc, "show", None))


def _env_flag(name: str) -> bool:
    import os

    return os.environ.get(name, "").lower() in {"1", "true", "yes", "on"}
