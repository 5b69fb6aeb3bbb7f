"""The global options, accepted before the command (``salvage -o json backup get``) and,
as kubectl and Velero users type them, after it (``salvage backup get -o json``).

The root callback reads them (with their environment variables) into the :class:`App`;
every verb gets the same options again through :func:`with_global_options`, without
environment variables, so a value given after the verb overrides the one before it and
an environment variable never overrides either.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Annotated, Any

import typer

from salvage.cli.context import App, app_of
from salvage.cli.help import GLOBAL_PREFIX
from salvage.cli.output import OutputFormat

# name: (option names, help, environment variable)
_OPTIONS = {
    "kubeconfig": (("--kubeconfig",), "Path to the kubeconfig file (default ~/.kube/config).", "KUBECONFIG"),
    "context": (("--context",), "Kubeconfig context to use (default: its current context).", "SALVAGE_CONTEXT"),
    "output": (("--output", "-o"), "Output format: a table, or JSON or YAML for scripts.", "SALVAGE_OUTPUT"),
    "debug": (("--debug",), "Show tracebacks on errors.", "SALVAGE_DEBUG"),
}
_TYPES: dict[str, Any] = {"kubeconfig": str | None, "context": str | None, "output": OutputFormat | None, "debug": bool}


def root_option(name: str) -> Any:
    """The option as the root command takes it: read from its environment variable too."""
    decls, help_text, envvar = _OPTIONS[name]
    return typer.Option(*decls, envvar=envvar, help=help_text, show_default=name == "output")


def _verb_option(name: str) -> Any:
    decls, help_text, envvar = _OPTIONS[name]
    return typer.Option(*decls, help=f"{help_text} (env {envvar})", show_default=False)


def apply(app: App, *, kubeconfig: str | None = None, context: str | None = None,
          output: OutputFormat | None = None, debug: bool = False) -> None:
    """Global options given after the verb, over those given before it."""
    if kubeconfig is not None:
        app.kubeconfig = kubeconfig
    if context is not None:
        app.context = context
    if output is not None:
        app.output = app.terminal.output = output
    if debug:
        app.debug = app.terminal.debug = True


_CTX = f"{GLOBAL_PREFIX}ctx"
_KEYWORD = inspect.Parameter.KEYWORD_ONLY


def with_global_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """``fn`` taking the global options as well; the command's own code never sees them."""
    if getattr(fn, "__salvage_global_options__", False):
        return fn
    signature = inspect.signature(fn, eval_str=True)
    own = list(signature.parameters.values())
    ctx_name = next((p.name for p in own if p.annotation is typer.Context), None)
    extra = [inspect.Parameter(f"{GLOBAL_PREFIX}{name}", _KEYWORD, default=False if name == "debug" else None,
                               annotation=Annotated[_TYPES[name], _verb_option(name)])
             for name in _OPTIONS]
    if ctx_name is None:
        extra.append(inspect.Parameter(_CTX, _KEYWORD, annotation=typer.Context))

    @functools.wraps(fn)
    def command(*args: Any, **kwargs: Any) -> Any:
        ctx = kwargs[ctx_name] if ctx_name else kwargs.pop(_CTX)
        apply(app_of(ctx), **{name: kwargs.pop(f"{GLOBAL_PREFIX}{name}") for name in _OPTIONS})
        return fn(*args, **kwargs)

    parameters = own + extra
    command.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in parameters}
    command.__salvage_global_options__ = True  # type: ignore[attr-defined]
    return command
