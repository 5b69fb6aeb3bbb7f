import errno
import os
import pty
import re
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
    for options, extra in (["--debug"], {}), ([], {"SALVAGE_DEBUG": "1"}):
        result = run(*options, "dev", "cluster", "status", "ghost", env={**env, **extra})
        assert result.returncode != 0
        assert "Traceback" in result.stderr and "There is no local cluster named 'ghost'" in result.stderr, extra
    assert "Traceback" not in run("dev", "cluster", "status", "ghost", env={**env, "SALVAGE_DEBUG": "0"}).stderr


def run_on_a_terminal(*args, env):
    """Run with stdout and stderr on a pseudo-terminal, where colour is on unless NO_COLOR says no."""
    if "PYTHONPATH" in os.environ:
        env = {**env, "PYTHONPATH": os.environ["PYTHONPATH"]}
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "salvage", *args], stdin=subprocess.DEVNULL,
                                   stdout=terminal, stderr=terminal, env=env)
    finally:
        os.close(terminal)
    output = b""
    try:
        while chunk := _read_terminal(controller):
            output += chunk
    finally:
        os.close(controller)
    process.wait(timeout=60)
    return output.decode(errors="replace")


def _read_terminal(fd):
    try:
        return os.read(fd, 4096)
    except OSError as exc:  # EIO: every writer has closed the terminal
        if exc.errno == errno.EIO:
            return b""
        raise


def colour_codes(text):
    """The SGR parameters in ``text`` that set a colour (bold and the like are not colour)."""
    return [code for params in re.findall(r"\x1b\[([\d;]*)m", text) for code in params.split(";")
            if code.isdigit() and (30 <= int(code) <= 48 or 90 <= int(code) <= 107)]


def test_no_color_output_has_no_colour_on_a_terminal(tmp_path):
    env = {"SALVAGE_STATE_DIR": str(tmp_path), "PATH": "/usr/bin:/bin", "TERM": "xterm-256color"}
    coloured = run_on_a_terminal("dev", "cluster", "status", "ghost", env=env)
    assert "There is no local cluster named 'ghost'" in coloured
    assert colour_codes(coloured), f"on a terminal without NO_COLOR the error is coloured: {coloured!r}"
    plain = run_on_a_terminal("dev", "cluster", "status", "ghost", env={**env, "NO_COLOR": "1"})
    assert "There is no local cluster named 'ghost'" in plain
    assert colour_codes(plain) == [], repr(plain)



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
    assert "`salvage backup` needs a command: create, get, describe, logs, delete, prune." in result.stderr
    assert "Usage:\n  salvage backup COMMAND [options]" in result.stdout  # the help, as before
    result = run("backup", "nosuch", env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "No such command 'nosuch'. `salvage backup` has: create, get, describe, logs, delete, prune." in result.stderr


def test_usage_errors_name_the_command_as_salvage():
    result = run("backup", "get", "--nosuch", env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
    assert result.returncode == 2
    assert "Usage: salvage backup get [NAME] [options]" in result.stderr
    assert "python -m" not in result.stderr
