import os
import subprocess
import sys

from typer.testing import CliRunner

from salvage import __version__
from salvage.cli.app import app


def run(*args, env=None):
    if env is not None and "PYTHONPATH" in os.environ:  # a checkout run without installing it
        env = {**env, "PYTHONPATH": os.environ["PYTHONPATH"]}
    return subprocess.run([sys.executable, "-m", "salvage", *args], capture_output=True, text=True, env=env)


def test_version():
    result = CliRunner().invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout.strip() == f"salvage {__version__}"


def test_help_lists_global_options():
    result = CliRunner().invoke(app, ["--help"], env={"NO_COLOR": "1", "COLUMNS": "200"})
    for option in ("--kubeconfig", "--context", "--output", "--debug"):
        assert option in result.stdout


def test_errors_go_to_stderr_without_traceback(tmp_path):
    env = {"SALVAGE_STATE_DIR": str(tmp_path), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    result = run("dev", "cluster", "status", "ghost", env=env)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "error: There is no local cluster named 'ghost'" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(tmp_path):
    env = {"SALVAGE_STATE_DIR": str(tmp_path), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    result = run("--debug", "dev", "cluster", "status", "ghost", env=env)
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_no_color_output_has_no_escape_codes(tmp_path):
    env = {"SALVAGE_STATE_DIR": str(tmp_path), "NO_COLOR": "1", "PATH": "/usr/bin:/bin", "TERM": "xterm"}
    result = run("dev", "cluster", "status", "ghost", env=env)
    assert "\x1b[" not in result.stderr



def test_an_unknown_option_is_a_usage_error_not_an_unexpected_one(tmp_path):
    env = {"SALVAGE_STATE_DIR": str(tmp_path), "NO_COLOR": "1", "PATH": "/usr/bin:/bin"}
    result = run("dev", "cluster", "status", "--nmae", "x", env=env)
    assert result.returncode == 2, result.stderr
    assert "No such option: --nmae" in result.stderr
    assert "unexpected" not in result.stderr and "report it" not in result.stderr


def _groups_loaded(*argv):
    """Which command-group modules a fresh interpreter imports to run ``argv``."""
    code = (
        "import sys; from salvage.cli.app import command_app; command_app(sys.argv[1:]); "
        "print(' '.join(sorted(m for m in sys.modules if m.count('.') == 2 and m.startswith('salvage.cli.'))))"
    )
    env = {**os.environ}
    result = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, env=env, check=True)
    return set(result.stdout.split())


def test_a_command_imports_only_its_own_group():
    assert {"salvage.cli.fs", "salvage.cli.backup"} & _groups_loaded("-o", "json", "fs", "backup", ".") == {"salvage.cli.fs"}
    # A root option's value is not taken for the command.
    loaded = _groups_loaded("--kubeconfig", "fs", "--context=x", "repo", "snapshots")
    assert "salvage.cli.repo" in loaded and "salvage.cli.fs" not in loaded


def test_help_and_unknown_commands_see_every_group():
    for argv in (("--help",), (), ("nosuch",)):
        loaded = _groups_loaded(*argv)
        assert {"salvage.cli.backup", "salvage.cli.statefulset", "salvage.cli.fs", "salvage.cli.demo"} <= loaded, argv
    result = run("nosuch", env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2 and "No such command" in result.stderr


def test_a_group_without_a_command_says_on_stderr_which_commands_it_has():
    result = run("backup", env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "`salvage backup` needs a command: create, get, describe, logs, delete." in result.stderr
    assert "Usage:\n  salvage backup COMMAND [options]" in result.stdout  # the help, as before
    result = run("backup", "nosuch", env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "No such command 'nosuch'. `salvage backup` has: create, get, describe, logs, delete." in result.stderr


def test_usage_errors_name_the_command_as_salvage():
    result = run("backup", "get", "--nosuch", env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "Usage: salvage backup get [NAME] [options]" in result.stderr
    assert "python -m" not in result.stderr
