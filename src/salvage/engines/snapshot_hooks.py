"""Consistency hooks: commands run in the pods that use a volume, before and after its snapshot.

A CSI snapshot does not pause the application (the gap seed 003 names), so a hook can
flush or freeze it first and thaw it afterwards. Hooks come from the pods' annotations::

    pre.hook.snapshot.salvage.io/command: '["sh", "-c", "fsfreeze -f /data"]'
    pre.hook.snapshot.salvage.io/container: db        # default: the pod's first container
    pre.hook.snapshot.salvage.io/timeout: 30s         # default 30s
    pre.hook.snapshot.salvage.io/on-error: fail       # fail (default) or continue

and the same keys under ``post.``; a hook given on the command line replaces the
annotations' hook of its phase for every pod. Commands run through the API server's exec
subresource, so they work wherever ``kubectl exec`` does.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Any

from salvage.k8s.api_groups import core
from salvage.k8s.client import KubeClient
from salvage.k8s.exec import exec_in_pod
from salvage.model.errors import HookError, SalvageError, UsageError

PRE, POST = "pre", "post"
DEFAULT_TIMEOUT = 30.0
_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s|m|h)?$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}

Report = Callable[[str], None]


class OnError(str, Enum):
    fail = "fail"
    continue_ = "continue"


@dataclass(frozen=True)
class Hook:
    command: tuple[str, ...]
    container: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    on_error: OnError = OnError.fail


@dataclass(frozen=True)
class HookTarget:
    """One hook to run in one pod."""

    phase: str
    namespace: str
    pod: str
    container: str
    hook: Hook

    @property
    def where(self) -> str:
        return f"pod {self.namespace}/{self.pod} container {self.container}"


def annotation(phase: str, key: str) -> str:
    return f"{phase}.hook.snapshot.salvage.io/{key}"


def parse_command(text: str) -> tuple[str, ...]:
    """A command given as a JSON array (exact) or as a shell-like string (split like sh)."""
    stripped = text.strip()
    if stripped.startswith("["):
        try:
            value = json.loads(stripped)
        except ValueError as exc:
            raise UsageError(f"Hook command {text!r} is not a valid JSON array: {exc}.") from exc
        if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
            raise UsageError(f"Hook command {text!r} must be a non-empty JSON array of strings.")
        return tuple(value)
    try:
        parts = tuple(shlex.split(stripped))
    except ValueError as exc:
        raise UsageError(f"Hook command {text!r} cannot be split into words: {exc}.") from exc
    if not parts:
        raise UsageError("A hook command cannot be empty.")
    return parts


def parse_timeout(text: str) -> float:
    """Seconds in ``"30"``, ``"30s"``, ``"500ms"``, ``"2m"`` or ``"1h"``."""
    match = _DURATION.match(text.strip())
    if not match or float(match.group(1)) <= 0:
        raise UsageError(f"Hook timeout {text!r} is not a positive duration such as 30s or 2m.")
    return float(match.group(1)) * _UNITS[match.group(2)]


def parse_on_error(text: str) -> OnError:
    try:
        return OnError(text.strip())
    except ValueError as exc:
        raise UsageError(f"Hook on-error {text!r} must be 'fail' or 'continue'.") from exc


def hook_from_annotations(pod: dict[str, Any], phase: str) -> Hook | None:
    """The pod's hook for ``phase``, or None; bad annotations name the pod and the key."""
    notes = pod["metadata"].get("annotations") or {}
    command = notes.get(annotation(phase, "command"))
    if command is None:
        return None
    where = f"pod {pod['metadata']['namespace']}/{pod['metadata']['name']}"
    try:
        if not command.strip().startswith("["):
            raise UsageError("it must be a JSON array such as [\"sh\", \"-c\", \"sync\"]")
        return Hook(
            command=parse_command(command),
            container=notes.get(annotation(phase, "container")),
            timeout=parse_timeout(notes.get(annotation(phase, "timeout"), str(DEFAULT_TIMEOUT))),
            on_error=parse_on_error(notes.get(annotation(phase, "on-error"), "fail")),
        )
    except UsageError as exc:
        raise UsageError(f"The {phase} hook annotations of {where} are invalid: {exc.message}",
                         hint=f"Fix the {annotation(phase, '*')} annotations of the pod.") from exc


def pods_mounting(client: KubeClient, namespace: str, claim: str) -> list[dict[str, Any]]:
    """Running pods in ``namespace`` with a volume from PVC ``claim``, by name."""
    pods = []
    for pod in client.list(core("pods", namespace)):
        if (pod.get("status") or {}).get("phase") != "Running" or pod["metadata"].get("deletionTimestamp"):
            continue
        volumes = (pod.get("spec") or {}).get("volumes") or []
        if any((v.get("persistentVolumeClaim") or {}).get("claimName") == claim for v in volumes):
            pods.append(pod)
    return sorted(pods, key=lambda p: str(p["metadata"]["name"]))


def plan_hooks(pods: list[dict[str, Any]], phase: str, override: Hook | None) -> list[HookTarget]:
    """Which hook runs in which pod for ``phase``: the override for every pod, else annotations."""
    targets = []
    for pod in pods:
        hook = override or hook_from_annotations(pod, phase)
        if hook is None:
            continue
        containers = [c["name"] for c in pod["spec"].get("containers") or []]
        container = hook.container or (containers[0] if containers else "")
        meta = pod["metadata"]
        if container not in containers:
            raise UsageError(
                f"The {phase} hook names container {container!r}, which pod {meta['namespace']}/{meta['name']} "
                f"does not have (it has: {', '.join(containers) or 'none'}).",
                hint="Name one of the pod's containers.",
            )
        targets.append(HookTarget(phase, meta["namespace"], meta["name"], container, hook))
    return targets


def run_hooks(client: KubeClient, targets: list[HookTarget], report: Report) -> None:
    """Run each hook in order; raise HookError at the first failure whose policy is fail."""
    for target in targets:
        failure = _run(client, target, report)
        if failure is None:
            continue
        if target.hook.on_error is OnError.fail:
            raise HookError(
                f"The {target.phase} hook {shlex.join(target.hook.command)!r} in {target.where} failed: {failure}.",
                hint="Fix the command, or set on-error to continue to snapshot regardless.",
            )
        report(f"warning: {target.phase} hook in {target.where} failed ({failure}); continuing (on-error=continue)")


@contextmanager
def held_by_hooks(client: KubeClient, pods: list[dict[str, Any]], report: Report, *, pre_hook: Hook | None = None,
                  post_hook: Hook | None = None, strict_post: bool = False) -> Iterator[None]:
    """The pre hooks of ``pods`` before the block and their post hooks after it, as a backup
    and `snapshot create` hold an application around its volume's capture: the pods'
    annotated hooks, or ``pre_hook``/``post_hook`` for every pod. Both phases are planned
    first, so a bad hook is refused before any runs. A pre hook that fails (on-error fail)
    raises HookError and the block does not run. The post hooks run whatever happened
    (they release the application); after a failure, theirs is reported as ``error: ...``
    and never raised, so it cannot hide the first. After a block that succeeded, a post
    hook's failure is raised with ``strict_post`` (the capture's own caller must know the
    application may still be held), else reported and the block's result kept."""
    pre, post = plan_hooks(pods, PRE, pre_hook), plan_hooks(pods, POST, post_hook)
    try:
        run_hooks(client, pre, report)
        yield
    except BaseException:
        _release_quietly(client, post, report, Exception)
        raise
    if strict_post:
        run_hooks(client, post, report)
    else:
        _release_quietly(client, post, report, HookError)


def _release_quietly(client: KubeClient, post: list[HookTarget], report: Report,
                     quiet: type[Exception]) -> None:
    try:
        run_hooks(client, post, report)
    except quiet as exc:  # after a failure, the first error is the one to raise
        report(f"error: {exc.message if isinstance(exc, SalvageError) else exc}")


def _run(client: KubeClient, target: HookTarget, report: Report) -> str | None:
    """None on success, else why the hook failed."""
    report(f"running {target.phase} hook in {target.where}: {shlex.join(target.hook.command)}")
    try:
        result = exec_in_pod(client, target.namespace, target.pod, list(target.hook.command),
                             container=target.container, timeout=target.hook.timeout)
    except SalvageError as exc:
        return exc.message.rstrip(".")
    if result.ok:
        return None
    if result.exit_code is not None:
        detail = result.stderr.strip().splitlines()[-1:] or [""]
        return f"exit code {result.exit_code}" + (f" ({detail[0]})" if detail[0] else "")
    return result.message
