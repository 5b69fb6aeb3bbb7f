"""Run the ``salvage`` command line against a local cluster, as a user would.

In this process, through the console entry point ``salvage.cli.app.main`` (argument
parsing, error messages, exit codes): a fresh interpreter per command would cost a second
each on a busy machine. ``tests/unit/cli/test_app.py`` covers ``python -m salvage`` itself.
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

from salvage.cli.app import main


@dataclass(frozen=True)
class Result:
    returncode: int
    stdout: str
    stderr: str


# Where Salvage keeps its files: a test's fixtures point these at its own directories.
_PLACES = frozenset({"SALVAGE_CONFIG_DIR", "SALVAGE_DATA_DIR", "SALVAGE_STATE_DIR", "SALVAGE_CACHE_DIR"})


def salvage(kubeconfig: Path | None, *args: str, env: Mapping[str, str] | None = None) -> Result:
    """Run one command (``--kubeconfig`` first unless None); ``env`` is added to the
    environment, from which the settings SALVAGE_* (output, context, debug, ...) are cleared."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SALVAGE_") or k in _PLACES}
    environ.update(env or {})
    return run_main([*(["--kubeconfig", str(kubeconfig)] if kubeconfig else []), *args], environ)


def run_main(args: list[str], env: dict[str, str]) -> Result:
    """``salvage ARGS`` through the console entry point, with exactly ``env`` (and NO_COLOR)."""
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with mock.patch.object(sys, "argv", ["salvage", *args]), \
            mock.patch.dict(os.environ, {**env, "NO_COLOR": "1"}, clear=True), \
            contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main()
        except SystemExit as exc:
            code = exc.code
    return Result(code if isinstance(code, int) else 1, out.getvalue(), err.getvalue())
