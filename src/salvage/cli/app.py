"""The root ``salvage`` command: global options, sub-commands, and error reporting."""

from __future__ import annotations

import importlib
import sys
from typing import Annotated

import typer

from salvage import __version__
from salvage.cli.context import App
from salvage.cli.global_options import root_option, with_global_options
from salvage.cli.help import SalvageCommand, SalvageGroup
from salvage.cli.output import OutputFormat, Terminal
from salvage.cli.tree import adopt
from salvage.model.errors import SalvageError

_app = typer.Typer(
    name="salvage",
    help="Backup and disaster recovery for stateful Kubernetes workloads.",
    cls=SalvageGroup,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    # Help pages are ours (salvage.cli.help): plain text that reads well at 80 columns.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

# The sub-command groups, in help order: name -> module (whose ``app`` is the group).
# Only the group a command line names is imported (the others cost ~0.2 s of start-up
# a command); help, completion and unknown names get them all.
_GROUPS = {
    "backup": "salvage.cli.backup",
    "restore": "salvage.cli.restore",
    "schedule": "salvage.cli.schedule",
    "drill": "salvage.cli.drill",
    "location": "salvage.cli.location",
    "dev": "salvage.cli.dev",
    "driver": "salvage.cli.driver",
    "repo": "salvage.cli.repo",
    "fs": "salvage.cli.fs",
    "snapshot": "salvage.cli.snapshot",
    "statefulset": "salvage.cli.statefulset",
    "operator": "salvage.cli.operator",
    "db": "salvage.cli.db",
}
# Root options that take a value, so the value is not mistaken for the command.
_VALUED = {"--kubeconfig", "--context", "--output", "-o"}
# Commands of the root itself: name -> (module, function).
_ROOT_COMMANDS = {"demo": ("salvage.cli.demo", "demo"), "install": ("salvage.cli.install", "install"),
                  "uninstall": ("salvage.cli.install", "uninstall")}
_COMMANDS = [*_GROUPS, *_ROOT_COMMANDS]
_registered: set[str] = set()


def _register(names: list[str]) -> typer.Typer:
    for name in names:
        if name in _registered:
            continue
        _registered.add(name)
        if name in _ROOT_COMMANDS:
            module, function = _ROOT_COMMANDS[name]
            command = getattr(importlib.import_module(module), function)
            _app.command(name=name, cls=SalvageCommand)(with_global_options(command))
        else:
            _app.add_typer(adopt(importlib.import_module(_GROUPS[name]).app), name=name)
    return _app


def command_app(argv: list[str]) -> typer.Typer:
    """The root app with the group ``argv`` names, or with all of them."""
    values = iter(argv)
    for arg in values:
        if arg in _VALUED:
            next(values, None)
        elif not arg.startswith("-"):
            return _register([arg] if arg in _COMMANDS else _COMMANDS)
    return _register(_COMMANDS)


def __getattr__(name: str) -> object:
    # ``from salvage.cli.app import app`` (tests, documentation tools): every command.
    if name == "app":
        return _register(_COMMANDS)
    raise AttributeError(name)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"salvage {__version__}")
        raise typer.Exit()


@_app.callback()
def root(
    ctx: typer.Context,
    kubeconfig: Annotated[str | None, root_option("kubeconfig")] = None,
    context: Annotated[str | None, root_option("context")] = None,
    output: Annotated[OutputFormat, root_option("output")] = OutputFormat.table,
    debug: Annotated[bool, root_option("debug")] = False,
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
        rc = command_app(sys.argv[1:])(prog_name="salvage", standalone_mode=False)
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
