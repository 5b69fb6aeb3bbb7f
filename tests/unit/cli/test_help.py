"""Every command's --help at 80 columns: whole option names, a help text for each option,
flags shown without a value, a usage line and examples per verb."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from salvage.cli.app import app
from salvage.cli.help import split_doc
from tests.unit.cli.command_tree import walk

COMMANDS = list(walk())
IDS = [" ".join(path) or "salvage" for path, _cmd in COMMANDS]
# 80 columns every way a terminal width reaches us: COLUMNS, and rich's and typer's own.
NARROW = {"COLUMNS": "80", "TERMINAL_WIDTH": "80", "FORCE_TERMINAL": "1", "NO_COLOR": "1"}


def render(path: tuple[str, ...], env: dict[str, str] = NARROW) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], env=env)
    assert result.exit_code == 0, result.output
    return result.stdout


def _named(text: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text) is not None


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_help_at_80_columns_shows_every_option_whole_with_its_help(path, command):
    text = render(path)
    assert "…" not in text, text
    assert max(len(line) for line in text.splitlines()) <= 80, text
    for param in command.params:
        if getattr(param, "hidden", False):
            continue
        assert (param.help or "").strip(), f"{' '.join(path)}: {param.name} has no help text"
        for name in [*param.opts, *param.secondary_opts] if param.param_type_name == "option" else []:
            assert _named(text, name), f"{name} is missing or cut in:\n{text}"
        assert " ".join(param.help.split()[:3]) in " ".join(text.split()), f"help of {param.name} missing:\n{text}"


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=IDS)
def test_flags_are_not_shown_taking_a_value(path, command):
    text = render(path)
    for param in command.params:
        if getattr(param, "is_flag", False):
            shorts_first = sorted(param.opts, key=lambda o: o.startswith("--"))
            names = " / ".join([", ".join(shorts_first), *param.secondary_opts])
            assert re.search(rf"{re.escape(names)}( {{2,}}|\n)", text), f"{names} shown with a value:\n{text}"
    assert "<bool>" not in text and "BOOLEAN" not in text


VERBS = [(p, c) for p, c in COMMANDS if not hasattr(c, "commands")]


@pytest.mark.parametrize(("path", "command"), VERBS, ids=[" ".join(p) for p, _c in VERBS])
def test_each_verb_has_a_usage_line_and_examples(path, command):
    text = render(path)
    usage = f"salvage {' '.join(path)}"
    assert f"Usage:\n  {usage} " in text
    _description, examples = split_doc(command.help)
    runs = [line for line in examples.splitlines() if line.startswith(usage)]
    assert runs, f"`{usage}` has no example that runs it"
    assert "Examples:" in text and f"  {runs[0]}" in text


@pytest.mark.parametrize(("path", "command"), [(p, c) for p, c in COMMANDS if hasattr(c, "commands")],
                         ids=[" ".join(p) or "salvage" for p, c in COMMANDS if hasattr(c, "commands")])
def test_groups_list_their_commands_with_whole_descriptions(path, command):
    text = " ".join(render(path).split())
    for name, sub in command.commands.items():
        first = " ".join(split_doc(sub.help)[0].split("\n\n")[0].split())
        assert f"{name} {first}" in text


def test_a_wide_terminal_gets_the_same_page():
    path = ("backup", "create")
    assert render(path, {**NARROW, "COLUMNS": "200", "TERMINAL_WIDTH": "200"}) == render(path)


def test_split_doc_takes_the_examples_block():
    doc = """Do a thing.

    More about it.

    Examples:
      # the simplest
      salvage thing do x
    """
    assert split_doc(doc) == ("Do a thing.\n\nMore about it.", "# the simplest\nsalvage thing do x")
    assert split_doc("Just words.") == ("Just words.", "")
