"""Help pages in the manner of kubectl and Velero, readable at 80 columns.

A page is the command's description, a ``Usage:`` line, its examples, its arguments and
options, then the global options. Option names are never cut (a long one puts its help
on the next line), flags show no value, and a group lists its commands with their whole
first paragraph. A verb's docstring holds its examples after a line ``Examples:``.
"""

from __future__ import annotations

import enum
import inspect
import textwrap
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer
from typer.core import TyperCommand, TyperGroup

PROG = "salvage"
EXAMPLES_MARKER = "Examples:"
# Params the global-options wrapper adds to every verb (salvage.cli.global_options).
GLOBAL_PREFIX = "salvage_global_"


def split_doc(doc: str | None) -> tuple[str, str]:
    """A docstring's description and its examples block (dedented; empty if none)."""
    text = inspect.cleandoc(doc or "")
    head, marker, tail = text.partition(f"\n{EXAMPLES_MARKER}\n")
    if not marker and text.startswith(f"{EXAMPLES_MARKER}\n"):
        head, tail = "", text[len(EXAMPLES_MARKER) + 1:]
    return head.strip(), textwrap.dedent(tail).strip("\n")


def first_paragraph(doc: str | None) -> str:
    return " ".join(split_doc(doc)[0].split("\n\n")[0].split())


def command_path(ctx: Any) -> str:
    """``salvage backup create``, whatever name the interpreter ran us under."""
    names = []
    while ctx is not None:
        names.append(ctx.info_name or "")
        ctx = ctx.parent
    names[-1] = PROG
    return " ".join(reversed(names))


def _unwrap(annotation: Any) -> Any:
    """The value type behind ``X | None`` and ``list[X]``."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _unwrap(members[0]) if len(members) == 1 else annotation
    if origin in (list, tuple):
        return _unwrap(typing.get_args(annotation)[0])
    return annotation


_TYPE_NAMES = {str: "string", int: "int", float: "float", Path: "path"}


def metavar(param: Any) -> str:
    """The word shown for an option's value: its metavar, the choices, or its type."""
    if param.metavar:
        return str(param.metavar)
    descriptor = getattr(param, "type_descriptor", None)
    if descriptor is not None:  # typer >= 0.20 types its params by annotation
        value_type = _unwrap(descriptor.annotation)
        if isinstance(value_type, type) and issubclass(value_type, enum.Enum):
            return "|".join(str(member.value) for member in value_type)
        return _TYPE_NAMES.get(value_type, "value")
    click_type = getattr(param, "type", None)  # older typer: a click ParamType
    choices = getattr(click_type, "choices", None)
    if choices:
        return "|".join(str(getattr(c, "value", c)) for c in choices)
    name = getattr(click_type, "name", "value")
    return {"text": "string", "integer": "int"}.get(name, name)


def is_flag(param: Any) -> bool:
    return bool(getattr(param, "is_flag", False))


def option_names(param: Any) -> str:
    """``-o, --output table|json|yaml``; a flag without a value; ``--wait / --no-wait``."""
    shorts = [o for o in param.opts if not o.startswith("--")]
    longs = [o for o in param.opts if o.startswith("--")]
    names = ", ".join(shorts + longs) if shorts else "    " + ", ".join(longs)
    if param.secondary_opts:
        names += " / " + ", ".join(param.secondary_opts)
    if not is_flag(param):
        names += f" {metavar(param)}"
    if getattr(param, "multiple", False):
        names += " ..."
    return names


def option_help(param: Any) -> str:
    """The help text, then the default and the environment variable, if any."""
    help_text = (param.help or "").strip()
    extras = []
    default = param.default
    if param.secondary_opts and isinstance(default, bool):
        extras.append(f"default {param.opts[-1] if default else param.secondary_opts[0]}")
    elif not is_flag(param) and default not in (None, "", (), []) and getattr(param, "show_default", True):
        extras.append(f"default {getattr(default, 'value', default)}")
    if param.envvar and not param.name.startswith(GLOBAL_PREFIX):
        envvars = [param.envvar] if isinstance(param.envvar, str) else list(param.envvar)
        extras.append("env " + ", ".join(envvars))
    return f"{help_text} ({'; '.join(extras)})" if extras else help_text


def argument_word(param: Any) -> str:
    word = (param.metavar or param.name).upper().replace("-", "_")
    if param.nargs == -1:
        word += "..."
    return word if param.required else f"[{word}]"


def _visible(params: list[Any], kind: str) -> Iterator[Any]:
    for param in params:
        if getattr(param, "hidden", False) or getattr(param, "param_type_name", "") != kind:
            continue
        yield param


_HELP_ROW = ("-h, --help", "Show this help.")
_FIRST_COLUMN_MAX = 30


def _wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width``, never breaking a word (nor an option name at its hyphens)."""
    lines: list[str] = []
    for paragraph in text.split("\n\n"):
        if lines:
            lines.append("")
        lines += textwrap.wrap(" ".join(paragraph.split()), max(width, 20), break_on_hyphens=False,
                               break_long_words=False) or [""]
    return lines


def _write_text(formatter: Any, text: str) -> None:
    for line in _wrap(text, formatter.width):
        formatter.write(f"{line}\n")


def _write_dl(formatter: Any, rows: list[tuple[str, str]]) -> None:
    """Two columns; a first column wider than 30 puts its text on the next line."""
    indent = " " * formatter.current_indent
    column = min(max((len(first) for first, _ in rows), default=0), _FIRST_COLUMN_MAX) + 2
    for first, second in rows:
        lines = _wrap(second, formatter.width - formatter.current_indent - column) if second else []
        if len(first) > _FIRST_COLUMN_MAX and lines:
            lines = [first, *[" " * column + x for x in lines]]
        else:
            lines = [f"{first:<{column}}{lines[0] if lines else ''}".rstrip(), *[" " * column + x for x in lines[1:]]]
        for line in lines:
            formatter.write(f"{indent}{line}\n" if line.strip() else "\n")


def _write_examples(formatter: Any, examples: str) -> None:
    if not examples:
        return
    formatter.write("\nExamples:\n")
    for line in examples.splitlines():
        formatter.write(f"  {line}\n" if line.strip() else "\n")


def _write_params(formatter: Any, params: list[Any]) -> None:
    arguments = list(_visible(params, "argument"))
    if arguments:
        with formatter.section("Arguments"):
            _write_dl(formatter, [(argument_word(p).strip("[]"), option_help(p)) for p in arguments])
    local = [(option_names(p), option_help(p)) for p in _visible(params, "option")
             if not p.name.startswith(GLOBAL_PREFIX)]
    shared = [(option_names(p), option_help(p)) for p in _visible(params, "option")
              if p.name.startswith(GLOBAL_PREFIX)]
    # -h/--help goes with the last list, which is the global options on a verb.
    if shared:
        if local:
            with formatter.section("Options"):
                _write_dl(formatter, local)
        with formatter.section("Global options (also accepted before the command)"):
            _write_dl(formatter, [*shared, _HELP_ROW])
    else:
        with formatter.section("Options"):
            _write_dl(formatter, [*local, _HELP_ROW])


def _write_head(formatter: Any, ctx: Any, doc: str | None, pieces: list[str]) -> None:
    """The description, the usage line and the examples."""
    description, examples = split_doc(doc)
    if description:
        _write_text(formatter, description)
        formatter.write("\n")
    formatter.write(f"Usage:\n  {command_path(ctx)} {' '.join(pieces)}\n")
    _write_examples(formatter, examples)


class SalvageCommand(TyperCommand):
    """A verb: description, usage, examples, arguments, options, global options."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        words = [argument_word(p) for p in _visible(self.params, "argument")]
        return [*words, "[options]"]

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write(f"Usage: {command_path(ctx)} {' '.join(self.collect_usage_pieces(ctx))}\n")

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _write_head(formatter, ctx, self.help, self.collect_usage_pieces(ctx))
        _write_params(formatter, self.params)


class SalvageGroup(TyperGroup):
    """A noun (or the root): description, usage, its commands, options; a missing or
    unknown command is a usage error that lists the commands there are."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        return ["COMMAND", "[options]"]

    def format_usage(self, ctx: Any, formatter: Any) -> None:
        formatter.write(f"Usage: {command_path(ctx)} COMMAND [options]\n")

    def format_help(self, ctx: Any, formatter: Any) -> None:
        _write_head(formatter, ctx, self.help, self.collect_usage_pieces(ctx))
        rows = [(name, first_paragraph(cmd.help)) for name, cmd in self.commands.items() if not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                _write_dl(formatter, rows)
        _write_params(formatter, self.params)
        formatter.write(f"\nRun `{command_path(ctx)} COMMAND --help` for a command's options and examples.\n")

    def _known(self) -> str:
        return ", ".join(name for name, cmd in self.commands.items() if not cmd.hidden)

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if not args and self.no_args_is_help and not ctx.resilient_parsing:
            typer.echo(ctx.get_help())
            ctx.fail(f"`{command_path(ctx)}` needs a command: {self._known()}.")
        return super().parse_args(ctx, args)

    def resolve_command(self, ctx: Any, args: list[str]) -> Any:
        try:
            return super().resolve_command(ctx, args)
        except Exception as exc:  # typer's own copy of click's UsageError, or click's
            message = getattr(exc, "message", "")
            if isinstance(message, str) and message.startswith("No such command"):
                exc.message = f"{message} `{command_path(ctx)}` has: {self._known()}."  # type: ignore[attr-defined]
            raise
