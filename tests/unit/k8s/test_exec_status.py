"""Exit codes from the Status the API server sends at the end of an exec."""

from __future__ import annotations

from salvage.k8s.exec import ExecResult, exit_status


def test_success() -> None:
    assert exit_status({"metadata": {}, "status": "Success"}) == (0, "")


def test_non_zero_exit_code_from_a_kubelet() -> None:
    status = {
        "status": "Failure", "reason": "NonZeroExitCode", "message": "command terminated with non-zero exit code",
        "details": {"causes": [{"reason": "ExitCode", "message": "3"}]},
    }
    assert exit_status(status) == (3, "")
    assert not ExecResult(3, "", "").ok


def test_a_failure_without_a_code_keeps_the_message() -> None:
    status = {"status": "Failure", "reason": "InternalError", "message": "error executing command: exit status 3"}
    code, message = exit_status(status)
    assert code is None and "exit status 3" in message
    assert not ExecResult(code, "", "", message).ok
