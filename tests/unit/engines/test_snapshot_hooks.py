"""Hook definitions: commands, durations, policies, annotations, which pod runs what, and
how the hooks hold a capture (held_by_hooks, for backups and `snapshot create` alike)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from salvage.engines.snapshot_hooks import (
    POST,
    PRE,
    Hook,
    OnError,
    hook_from_annotations,
    parse_command,
    parse_timeout,
    plan_hooks,
)
from salvage.model.errors import UsageError


def _pod(name: str, annotations: dict[str, str] | None = None, containers: tuple[str, ...] = ("app",)) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "annotations": annotations or {}},
        "spec": {"containers": [{"name": c} for c in containers]},
    }


@pytest.mark.parametrize(("text", "command"), [
    ('["sh", "-c", "echo a b"]', ("sh", "-c", "echo a b")),
    ("sh -c 'echo a b'", ("sh", "-c", "echo a b")),
    ("  sync  ", ("sync",)),
])
def test_commands_are_json_arrays_or_shell_words(text: str, command: tuple[str, ...]) -> None:
    assert parse_command(text) == command


@pytest.mark.parametrize("text", ["", "[]", "[1, 2]", '["unclosed"', "sh -c 'unbalanced"])
def test_bad_commands_are_refused(text: str) -> None:
    with pytest.raises(UsageError):
        parse_command(text)


@pytest.mark.parametrize(("text", "seconds"), [("30", 30), ("30s", 30), ("500ms", 0.5), ("2m", 120), ("1h", 3600)])
def test_timeouts(text: str, seconds: float) -> None:
    assert parse_timeout(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "-1s", "10 minutes", "1d"])
def test_bad_timeouts_are_refused(text: str) -> None:
    with pytest.raises(UsageError, match="positive duration"):
        parse_timeout(text)


def test_annotations_define_each_phase() -> None:
    pod = _pod("db", {
        "pre.hook.snapshot.salvage.io/command": json.dumps(["fsfreeze", "-f", "/data"]),
        "pre.hook.snapshot.salvage.io/container": "db",
        "pre.hook.snapshot.salvage.io/timeout": "1m",
        "pre.hook.snapshot.salvage.io/on-error": "continue",
        "post.hook.snapshot.salvage.io/command": json.dumps(["fsfreeze", "-u", "/data"]),
    })
    assert hook_from_annotations(pod, PRE) == Hook(("fsfreeze", "-f", "/data"), "db", 60.0, OnError.continue_)
    assert hook_from_annotations(pod, POST) == Hook(("fsfreeze", "-u", "/data"))
    assert hook_from_annotations(_pod("plain"), PRE) is None


@pytest.mark.parametrize(("key", "value", "says"), [
    ("command", "sync", "must be a JSON array"),
    ("on-error", "ignore", "'fail' or 'continue'"),
    ("timeout", "soon", "positive duration"),
])
def test_bad_annotations_name_the_pod(key: str, value: str, says: str) -> None:
    notes = {"pre.hook.snapshot.salvage.io/command": '["sync"]', f"pre.hook.snapshot.salvage.io/{key}": value}
    with pytest.raises(UsageError, match="pre hook annotations of pod ns/db are invalid") as err:
        hook_from_annotations(_pod("db", notes), PRE)
    assert says in err.value.message


def test_a_command_line_hook_runs_in_every_pod_and_replaces_annotations() -> None:
    annotated = _pod("a", {"pre.hook.snapshot.salvage.io/command": '["annotated"]'}, containers=("side", "main"))
    plain = _pod("b")
    assert [(t.pod, t.container, t.hook.command) for t in plan_hooks([annotated, plain], PRE, None)] == [
        ("a", "side", ("annotated",)),
    ]
    override = Hook(("flag",))
    assert [(t.pod, t.container, t.hook.command) for t in plan_hooks([annotated, plain], PRE, override)] == [
        ("a", "side", ("flag",)), ("b", "app", ("flag",)),
    ]


def test_a_container_the_pod_lacks_is_refused() -> None:
    with pytest.raises(UsageError, match="names container 'db', which pod ns/web does not have"):
        plan_hooks([_pod("web")], POST, Hook(("sync",), container="db"))


def _hooked(pre: str, post: str) -> dict[str, Any]:
    return _pod("db", {"pre.hook.snapshot.salvage.io/command": json.dumps(["sh", "-c", pre]),
                       "post.hook.snapshot.salvage.io/command": json.dumps(["sh", "-c", post])})


def _fake_exec(monkeypatch: pytest.MonkeyPatch, ran: list[str], failing: set[str]) -> None:
    from salvage.engines import snapshot_hooks
    from salvage.k8s.exec import ExecResult

    def exec_in_pod(_client: Any, _ns: str, _pod: str, command: list[str], **_kw: Any) -> ExecResult:
        ran.append(command[-1])
        return ExecResult(3 if command[-1] in failing else 0, "", "")

    monkeypatch.setattr(snapshot_hooks, "exec_in_pod", exec_in_pod)


def test_held_by_hooks_runs_pre_before_and_post_after_the_block(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks

    ran: list[str] = []
    _fake_exec(monkeypatch, ran, set())
    with held_by_hooks(None, [_hooked("freeze", "thaw")], lambda _m: None):  # type: ignore[arg-type]
        ran.append("capture")
    assert ran == ["freeze", "capture", "thaw"]


def test_a_failing_pre_hook_skips_the_block_and_still_runs_the_post_hook(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks
    from salvage.model.errors import HookError

    ran: list[str] = []
    _fake_exec(monkeypatch, ran, {"freeze"})
    with pytest.raises(HookError, match="exit code 3"):
        with held_by_hooks(None, [_hooked("freeze", "thaw")], lambda _m: None):  # type: ignore[arg-type]
            ran.append("capture")
    assert ran == ["freeze", "thaw"]


def test_a_failing_post_hook_is_reported_and_keeps_the_blocks_result(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks

    ran: list[str] = []
    reports: list[str] = []
    _fake_exec(monkeypatch, ran, {"thaw"})
    with held_by_hooks(None, [_hooked("freeze", "thaw")], reports.append):  # type: ignore[arg-type]
        ran.append("capture")
    assert ran == ["freeze", "capture", "thaw"]
    assert any(r.startswith("error: The post hook") and "ns/db" in r for r in reports), reports


def test_command_line_hooks_hold_every_pod_in_place_of_annotations(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks

    ran: list[str] = []
    _fake_exec(monkeypatch, ran, set())
    with held_by_hooks(None, [_hooked("freeze", "thaw"), _pod("web")], lambda _m: None,  # type: ignore[arg-type]
                       pre_hook=Hook(("sh", "-c", "flush")), post_hook=Hook(("sh", "-c", "resume"))):
        ran.append("capture")
    assert ran == ["flush", "flush", "capture", "resume", "resume"]


def test_a_bad_post_hook_is_refused_before_the_pre_hook_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks

    ran: list[str] = []
    _fake_exec(monkeypatch, ran, set())
    with pytest.raises(UsageError, match="names container 'nope'"):
        with held_by_hooks(None, [_hooked("freeze", "thaw")], lambda _m: None,  # type: ignore[arg-type]
                           post_hook=Hook(("sync",), container="nope")):
            ran.append("capture")
    assert ran == []


def test_with_strict_post_a_failing_post_hook_fails_the_capture(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks
    from salvage.model.errors import HookError

    ran: list[str] = []
    _fake_exec(monkeypatch, ran, {"thaw"})
    with pytest.raises(HookError, match="The post hook .* in pod ns/db container app failed: exit code 3"):
        with held_by_hooks(None, [_hooked("freeze", "thaw")], lambda _m: None,  # type: ignore[arg-type]
                           strict_post=True):
            ran.append("capture")
    assert ran == ["freeze", "capture", "thaw"]


def test_after_a_failed_capture_a_failing_post_hook_is_reported_not_raised(monkeypatch: pytest.MonkeyPatch) -> None:
    from salvage.engines.snapshot_hooks import held_by_hooks

    ran: list[str] = []
    reports: list[str] = []
    _fake_exec(monkeypatch, ran, {"thaw"})
    with pytest.raises(RuntimeError, match="capture broke"):
        with held_by_hooks(None, [_hooked("freeze", "thaw")], reports.append,  # type: ignore[arg-type]
                           strict_post=True):
            raise RuntimeError("capture broke")
    assert ran == ["freeze", "thaw"]
    assert any(r.startswith("error: The post hook") for r in reports), reports
