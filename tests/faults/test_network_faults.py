"""Network faults (toxiproxy) on each store and on the API server during ``backup create`` and
``restore create`` of a namespace with an ``fs`` volume; the checker runs after each run,
then the same command is retried without the fault and must finish. The store going away
at set moments of a restore: test_store_outages.py."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from salvage.devcluster.servers import ToxiproxyClient
from salvage.k8s.client import KubeClient
from tests.faults.cases import Fault, record, seeds, selected
from tests.faults.checker import Checker
from tests.faults.runner import Run, salvage
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration

# A run under a fault must end (finish or fail) within this; the checker's own restores aside.
RUN_BOUND = 240.0


@contextmanager
def applied(toxiproxy: ToxiproxyClient, fault: Fault) -> Iterator[None]:
    """The fault on its proxy from ``fault.starts_after`` seconds on (at once when 0), lifted
    after ``fault.seconds`` when transient; every fault is gone when the block ends."""
    lifts: list[Callable[[], None]] = []
    lock, ended = threading.Lock(), threading.Event()

    def on() -> None:
        with lock:
            if ended.is_set():
                return
            if fault.toxic == "down":
                toxiproxy.set_enabled(fault.proxy, False)
                lifts.append(lambda: toxiproxy.set_enabled(fault.proxy, True))
            else:
                toxic = toxiproxy.add_toxic(fault.proxy, fault.toxic, stream=fault.stream,
                                            toxicity=fault.toxicity, **fault.attributes)
                lifts.append(lambda: toxiproxy.remove_toxic(fault.proxy, toxic))

    def off() -> None:
        with lock:
            while lifts:
                lifts.pop()()

    timers = [threading.Timer(fault.starts_after, on)] if fault.starts_after else []
    if not fault.starts_after:
        on()
    if fault.seconds:
        timers.append(threading.Timer(fault.starts_after + fault.seconds, off))
    for timer in timers:
        timer.start()
    try:
        yield
    finally:
        ended.set()
        for timer in timers:
            timer.cancel()
            timer.join()
        off()


def _backup(kubeconfig: Path, name: str, ns: str, env: dict[str, str]) -> Run:
    return salvage(kubeconfig, "backup", "create", name, "--include-namespaces", ns,
                   "--default-volumes-to-fs-backup", "--location", "proxied", env=env, timeout=RUN_BOUND)


def _restore(kubeconfig: Path, backup: str, ns: str, target: str, env: dict[str, str], name: str = "",
             extra: tuple[str, ...] = ()) -> Run:
    return salvage(kubeconfig, "restore", "create", name or f"r-{target}", "--from-backup", backup, "--location", "proxied",
                   "--namespace-mappings", f"{ns}:{target}", "--timeout", "60", *extra, env=env, timeout=RUN_BOUND)


def _base_backup(checker: Checker, fault_env: dict[str, str]) -> str:
    """Backup ``base`` of the checker's namespace, made directly (no proxy); returns the namespace."""
    made = salvage(checker.kubeconfig, "backup", "create", "base", "--include-namespaces", checker.source_ns,
                   "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env)
    assert made.finished, made.describe()
    return checker.source_ns


def _verdict(fault: Fault, path: str, seed: int, run: Run, retry: Run, violations: list[str]) -> None:
    if fault.must_finish and not run.finished:
        violations.append(f"{fault.name}: the run did not ride out the fault: {run.describe()}")
    if not retry.finished:
        violations.append(f"{fault.name}: the retried run did not finish: {retry.describe()}")
    outcome = "finished" if run.finished else ("killed" if run.killed else f"failed ({run.returncode})")
    record({"path": path, "fault": fault.name, "target": fault.proxy, "label": fault.label, "seed": seed,
            "outcome": outcome, "seconds": round(run.seconds, 1), "violations": violations,
            "error": "" if run.finished else " ".join(run.stderr.split())[-300:]})
    print(f"\n{path} under {fault.name}: {outcome} in {run.seconds:.1f}s\n{run.stderr}")
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
    ns = _base_backup(checker, fault_env)
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


def test_faults_start_and_end_on_time(toxiproxy: ToxiproxyClient, minio_proxy: object) -> None:
    """The harness itself: a fault for the whole run is on at once and gone after the block;
    a transient one is lifted on time; a late one starts on time."""
    def kinds() -> list[str]:
        return [t["type"] for t in toxiproxy.toxics("minio")]

    with applied(toxiproxy, Fault("whole", "minio", "latency", {"latency": 10})):
        assert kinds() == ["latency"]
    assert kinds() == []
    with applied(toxiproxy, Fault("transient", "minio", "latency", {"latency": 10}, seconds=0.3)):
        assert kinds() == ["latency"]
        wait_for(lambda: kinds() == [], timeout=5, interval=0.05, what="the transient toxic lifted")
    late = Fault("late", "minio", "down", starts_after=0.3)
    started = time.monotonic()
    with applied(toxiproxy, late):
        wait_for(lambda: not toxiproxy.proxy_enabled("minio"), timeout=5, interval=0.05, what="the proxy down")
        assert time.monotonic() - started >= 0.3
    assert toxiproxy.proxy_enabled("minio")
