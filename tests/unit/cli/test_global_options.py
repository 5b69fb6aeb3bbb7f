"""Global options after the verb, as kubectl and Velero users type them, on every verb."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

import salvage.cli.global_options as global_options
from salvage.cli.app import app
from salvage.cli.context import App
from salvage.cli.output import OutputFormat
from tests.unit.cli.command_tree import verbs

VERBS = verbs()
IDS = [" ".join(path) for path, _cmd in VERBS]
GLOBALS_AFTER = ["-o", "yaml", "--kubeconfig", "/k/config", "--context", "ctx-after", "--debug"]


def test_the_tree_is_the_whole_cli():
    assert len(VERBS) >= 37
    assert {("backup", "get"), ("snapshot", "get"), ("dev", "cluster", "up"), ("demo",)} <= {p for p, _c in VERBS}


@pytest.mark.parametrize(("path", "command"), VERBS, ids=IDS)
def test_every_verb_parses_the_global_options_after_it(path, command):
    result = CliRunner().invoke(app, [*path, *GLOBALS_AFTER, "--help"], env={"NO_COLOR": "1"})
    assert result.exit_code == 0, result.output
    assert f"salvage {' '.join(path)}" in result.stdout


class _Reached(Exception):
    pass


@pytest.mark.parametrize(("path", "command"), VERBS, ids=IDS)
def test_every_verb_hands_the_global_options_to_the_app(path, command, monkeypatch):
    """The values given after the verb are what the command's App holds (the command body
    is stopped right there, so nothing runs)."""
    seen: list[App] = []
    real_apply = global_options.apply

    def apply_then_stop(app_obj: App, **values: object) -> None:
        real_apply(app_obj, **values)
        seen.append(app_obj)
        raise _Reached

    monkeypatch.setattr(global_options, "apply", apply_then_stop)
    args = [*path, *_required_arguments(command), *GLOBALS_AFTER]
    result = CliRunner().invoke(app, ["-o", "json", "--context", "before", *args], env={"NO_COLOR": "1"})
    assert isinstance(result.exception, _Reached), result.output
    [got] = seen
    assert (got.output, got.kubeconfig, got.context, got.debug) == (OutputFormat.yaml, "/k/config", "ctx-after", True)
    assert got.terminal.output is OutputFormat.yaml and got.terminal.debug


def _required_arguments(command) -> list[str]:
    args = []
    for param in command.params:
        if param.param_type_name == "argument" and param.required:
            args.append("x")
        elif param.param_type_name == "option" and param.required:
            args += [param.opts[0], "x"]
    return args


NAMESPACED = [(p, c) for p, c in VERBS if p[0] in {"snapshot", "statefulset", "demo"}]


@pytest.mark.parametrize(("path", "command"), NAMESPACED, ids=[" ".join(p) for p, _c in NAMESPACED])
def test_namespaced_verbs_take_dash_n(path, command):
    opts = {o for param in command.params for o in param.opts}
    assert {"-n", "--namespace"} <= opts


@pytest.fixture
def dirs(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.delenv("SALVAGE_OUTPUT", raising=False)
    return tmp_path


def test_backup_get_dash_o_json_after_the_verb(dirs):
    result = CliRunner().invoke(app, ["backup", "get", "-o", "json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []


def test_after_the_verb_wins_over_before_and_over_the_environment(dirs):
    result = CliRunner().invoke(app, ["-o", "yaml", "location", "get", "default", "-o", "json"],
                                env={"SALVAGE_OUTPUT": "yaml"})
    assert json.loads(result.stdout)["name"] == "default"
    result = CliRunner().invoke(app, ["location", "get", "default", "--output=yaml"], env={"SALVAGE_OUTPUT": "json"})
    assert yaml.safe_load(result.stdout)["name"] == "default"


def test_context_after_the_verb_reaches_the_cluster_client(dirs):
    kubeconfig = dirs / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "one",
        "contexts": [{"name": "one", "context": {"cluster": "c", "user": "u"}}],
        "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {"token": "t"}}],
    }))
    result = CliRunner().invoke(app, ["snapshot", "get", "-o", "yaml", "--context", "elsewhere",
                                      "--kubeconfig", str(kubeconfig)])
    assert result.exit_code != 0
    assert "elsewhere" in str(result.exception)
