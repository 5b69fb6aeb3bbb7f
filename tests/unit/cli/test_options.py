"""Options shared by several verbs: an empty include/exclude value is refused everywhere."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from salvage.cli.app import app
from salvage.cli.options import parse_labels
from salvage.model.errors import UsageError
from tests.unit.cli.command_tree import verbs

INCLUDE_EXCLUDE = [
    (path, option)
    for path, command in verbs()
    for param in command.params
    for option in param.opts
    if option.startswith(("--include", "--exclude"))
]


def test_the_include_and_exclude_options_are_all_found():
    found = {(" ".join(path), option) for path, option in INCLUDE_EXCLUDE}
    assert {("backup create", "--include-namespaces"), ("backup create", "--exclude-resources"),
            ("restore create", "--include-namespaces"), ("fs restore", "--include")} <= found
    assert len(found) >= 10


@pytest.mark.parametrize(("path", "option"), INCLUDE_EXCLUDE, ids=[f"{' '.join(p)} {o}" for p, o in INCLUDE_EXCLUDE])
@pytest.mark.parametrize("empty", ["", " ", ","])
def test_an_empty_include_or_exclude_is_refused(path, option, empty):
    """``--include-namespaces "$NS"`` with NS unset must not back up every namespace."""
    args = {"backup": ["x"], "restore": ["--from-backup", "b"], "fs": ["latest", "-t", "/nonexistent", "--repo", "/r"],
            "schedule": ["x", "--schedule", "0 2 * * *"]}
    result = CliRunner().invoke(app, [*path, *args[path[0]], option, empty], env={"NO_COLOR": "1"})
    assert result.exit_code == 2, result.output
    assert option in result.output and "it is empty (an unset shell variable?)" in result.output


def test_labels_are_parsed_and_malformed_ones_refused():
    assert parse_labels("team=web, salvage.io/schedule=nightly,empty=") == {
        "team": "web", "salvage.io/schedule": "nightly", "empty": ""}
    assert parse_labels(None) == {}
    for bad in ("team", "=web", "team=a b", "Bad_Prefix/x=y", "x=" + "v" * 64):
        with pytest.raises(UsageError, match="is not KEY=VALUE"):
            parse_labels(bad)
