"""Network faults (toxiproxy) on MinIO and on the API server during ``backup create`` and
``restore create`` of a namespace with an ``fs`` volume; the checker runs after each run,
then the same command is retried without the fault and must finish."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from salvage.devcluster.servers import ToxiproxyClient
from salvage.k8s.client import KubeClient
from tests.faults.cases import Fault, record, seeds, selected
from tests.faults.checker import Checker
from tests.faults.runner import Run, salvage

pytestmark = pytest.mark.integration

# A run under a fault must end (finish or fail) within this; the checker's own restores aside.
RUN_BOUND = 240.0


@contextmanager
def applied(toxiproxy: ToxiproxyClient, fault: Fault) -> Iterator[None]:
    """The fault on its proxy; a transient one is lifted after ``fault.seconds``."""
    if fault.toxic == "down":
        toxiproxy.set_enabled(fault.proxy, False)
        lift = lambda: toxiproxy.set_enabled(fault.proxy, True)  # noqa: E731
    else:
        toxic = toxiproxy.add_toxic(fault.proxy, fault.toxic, stream=fault.stream, toxicity=fault.toxicity,
                                    **fault.attributes)
        lift = lambda: toxiproxy.remove_toxic(fault.proxy, toxic)  # noqa: E731
    timer = threading.Timer(fault.seconds, lift) if fault.seconds else None
    if timer:
        timer.start()
    try:
        yield
    finally:
        if timer:
            timer.join()
        else:
            lift()


def _backup(kubeconfig: Path, name: str, ns: str, env: dict[str, str]) -> Run:
    return salvage(kubeconfig, "backup", "create", name, "--include-namespaces", ns,
                   "--default-volumes-to-fs-backup", "--location", "proxied", env=env, timeout=RUN_BOUND)


def _restore(kubeconfig: Path, backup: str, ns: str, target: str, env: dict[str, str]) -> Run:
    return salvage(kubeconfig, "restore", "create", f"r-{target}", "--from-backup", backup, "--location", "proxied",
                   "--namespace-mappings", f"{ns}:{target}", "--timeout", "60", env=env, timeout=RUN_BOUND)


def _verdict(fault: Fault, path: str, seed: int, run: Run, retry: Run, violations: list[str]) -> None:
    if fault.must_finish and not run.finished:
        violations.append(f"{fault.name}: the run did not ride out the fault: {run.describe()}")
    if not retry.finished:
        violations.append(f"{fault.name}: the retried run did not finish: {retry.describe()}")
    outcome = "finished" if run.finished else ("killed" if run.killed else f"failed ({run.returncode})")
    record({"path": path, "fault": fault.name, "target": fault.proxy, "label": fault.label, "seed": seed,
            "outcome": outcome, "seconds": round(run.seconds, 1), "violations": violations,
            "error": "" if run.finished else " ".join(run.stderr.split())[-300:]})
    print(f"\n{path} under {fault.name}: {outcome} in {run.seconds:.1f}s; {run.describe()[-300:]}")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("seed", seeds(1))
@pytest.mark.parametrize("fault", selected("backup"), ids=lambda f: f.name)
def test_backup_create_under_fault(fault: Fault, seed: int, toxiproxy: ToxiproxyClient, proxied_kubeconfig: Path,
                                   checker: Checker, fault_env: dict[str, str]) -> None:
    name = f"b-{fault.name}"
    with applied(toxiproxy, fault):
        run = _backup(proxied_kubeconfig, name, checker.source_ns, fault_env)
    violations = checker.after_backup(run, name)
    retry = _backup(proxied_kubeconfig, f"{name}-retry", checker.source_ns, fault_env)
    if retry.finished and checker.phase(f"{name}-retry") != "Completed":
        violations.append(f"the retried backup exited 0 but is {checker.phase(f'{name}-retry')}")
    _verdict(fault, "backup create", seed, run, retry, violations)


@pytest.mark.parametrize("seed", seeds(1))
@pytest.mark.parametrize("fault", selected("restore"), ids=lambda f: f.name)
def test_restore_create_under_fault(fault: Fault, seed: int, toxiproxy: ToxiproxyClient, proxied_kubeconfig: Path,
                                    checker: Checker, fault_env: dict[str, str], kube: KubeClient) -> None:
    ns = checker.source_ns
    made = salvage(checker.kubeconfig, "backup", "create", "base", "--include-namespaces", ns,
                   "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env)
    assert made.finished, made.describe()
    target, again = f"{ns}-f", f"{ns}-g"
    try:
        with applied(toxiproxy, fault):
            run = _restore(proxied_kubeconfig, "base", ns, target, fault_env)
        violations = checker.after_restore(run, target)
        retry = _restore(proxied_kubeconfig, "base", ns, again, fault_env)
        violations += checker.after_restore(retry, again)
        _verdict(fault, "restore create", seed, run, retry, violations)
    finally:
        for namespace in (target, again):
            kube.delete_if_present(f"/api/v1/namespaces/{namespace}")


def test_a_transient_fault_is_lifted_on_time(toxiproxy: ToxiproxyClient, minio_proxy: object) -> None:
    """The harness itself: a transient toxic is gone when the block ends, a permanent one too."""
    fault = Fault("t", "minio", "latency", {"latency": 10}, seconds=0.2)
    started = time.monotonic()
    with applied(toxiproxy, fault):
        assert [t["type"] for t in toxiproxy.toxics("minio")] == ["latency"]
    assert time.monotonic() - started >= 0.2 and toxiproxy.toxics("minio") == []
