"""Credentials revoked mid-run (issue 20): the ServiceAccount whose token a run uses loses its
RBAC (its ClusterRoleBinding deleted) or is deleted (its token no longer valid), the moment
the run first changes something. The run may not finish, but it must never leave a Completed
backup that is not whole, must say why it stopped (no traceback), and a restore must name
what it created and left; with the rights given back (a new token), the same command finishes.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from salvage.k8s.client import KubeClient
from tests.faults.cases import record, sweep_only
from tests.faults.checker import PASSWORD, Checker
from tests.faults.runner import Run, salvage, when

pytestmark = pytest.mark.integration

RBAC = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings"
_names = itertools.count()


class Account:
    """A ServiceAccount in ``default`` bound to cluster-admin, and a kubeconfig with its token."""

    def __init__(self, kube: KubeClient, cluster_kubeconfig: Path, workdir: Path) -> None:
        self.kube = kube
        self.name = f"fault-runner-{os.getpid()}-{next(_names)}"
        self.kubeconfig = workdir / f"{self.name}.kubeconfig"
        self._base = yaml.safe_load(cluster_kubeconfig.read_text())

    def grant(self) -> Account:
        """(Re)create the account and its binding, and write a kubeconfig with a fresh token."""
        self.kube.create_if_absent("/api/v1/namespaces/default/serviceaccounts", {
            "apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": self.name}})
        self.kube.create_if_absent(RBAC, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
            "metadata": {"name": self.name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
            "subjects": [{"kind": "ServiceAccount", "name": self.name, "namespace": "default"}]})
        token = self.kube.create(f"/api/v1/namespaces/default/serviceaccounts/{self.name}/token", {
            "apiVersion": "authentication.k8s.io/v1", "kind": "TokenRequest",
            "spec": {"expirationSeconds": 3600}})["status"]["token"]
        config = dict(self._base)
        config["users"] = [{"name": self.name, "user": {"token": token}}]
        config["contexts"] = [{**c, "context": {**c["context"], "user": self.name}} for c in config["contexts"]]
        self.kubeconfig.write_text(yaml.safe_dump(config))
        return self

    def unbind(self) -> None:
        self.kube.delete_if_present(f"{RBAC}/{self.name}")

    def delete(self) -> None:
        self.kube.delete_if_present(f"/api/v1/namespaces/default/serviceaccounts/{self.name}")

    def remove(self) -> None:
        self.unbind()
        self.delete()


@pytest.fixture
def account(kube: KubeClient, cluster: Any, tmp_path: Path) -> Iterator[Account]:
    made = Account(kube, cluster.kubeconfig, tmp_path).grant()
    yield made
    made.remove()


REVOCATIONS = {"rbac-removed": ("its ClusterRoleBinding deleted", Account.unbind),
               "token-revoked": ("its ServiceAccount deleted (the token no longer valid)", Account.delete)}


def _verdict(path: str, how: str, run: Run, retry: Run, violations: list[str], revoked: bool) -> None:
    if not revoked:
        violations.append(f"{how}: the revocation never happened (the run made no change?): {run.describe()}")
    if not run.finished and not run.killed and ("Traceback" in run.stderr or not run.stderr.strip()):
        violations.append(f"{how}: the run failed without saying why: {run.describe()}")
    if not retry.finished:
        violations.append(f"{how}: the run with the rights given back did not finish: {retry.describe()}")
    outcome = "finished" if run.finished else f"failed ({run.returncode})"
    record({"path": path, "fault": how, "target": "apiserver", "label": f"the run's ServiceAccount: "
            f"{REVOCATIONS[how][0]}, at its first change", "seed": 0, "outcome": outcome,
            "seconds": round(run.seconds, 1), "violations": violations,
            "error": "" if run.finished else " ".join(run.stderr.split())[-300:]})
    print(f"\n{path} with {how}: {outcome} in {run.seconds:.1f}s\n{run.stderr}")
    assert not violations, "\n".join(violations)


@pytest.mark.parametrize("how", ["rbac-removed", pytest.param("token-revoked", marks=sweep_only())])
def test_backup_create_with_credentials_revoked_mid_run(how: str, account: Account, checker: Checker,
                                                        fault_env: dict[str, str]) -> None:
    store = checker.location.store

    def backup(name: str) -> Run:
        return salvage(account.kubeconfig, "backup", "create", name, "--include-namespaces", checker.source_ns,
                       "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env)

    started = lambda: next(iter(store.list("backups/revoked/")), None) is not None  # noqa: E731
    with when(started, lambda: REVOCATIONS[how][1](account)) as revoked:
        run = backup("revoked")
    violations = checker.after_backup(run, "revoked")
    account.grant()
    retry = backup("regranted")
    violations += checker.after_backup(retry, "regranted")
    _verdict("backup create", how, run, retry, violations, revoked.is_set())


@pytest.mark.parametrize("how", [pytest.param(h, marks=sweep_only()) for h in ("rbac-removed", "token-revoked")])
def test_restore_create_with_credentials_revoked_mid_run(how: str, account: Account, checker: Checker,
                                                         fault_env: dict[str, str], kube: KubeClient) -> None:
    ns = checker.source_ns
    made = salvage(checker.kubeconfig, "backup", "create", "base", "--include-namespaces", ns,
                   "--default-volumes-to-fs-backup", "--location", "direct", env=fault_env)
    assert made.finished, made.describe()

    def restore(target: str) -> Run:
        return salvage(account.kubeconfig, "restore", "create", f"r-{target}", "--from-backup", "base",
                       "--location", "direct", "--namespace-mappings", f"{ns}:{target}", "--timeout", "60",
                       env={"SALVAGE_REPO_PASSWORD": PASSWORD})

    target, again = f"{ns}-cr", f"{ns}-cg"
    try:
        with when(lambda: kube.exists(f"/api/v1/namespaces/{target}"),
                  lambda: REVOCATIONS[how][1](account)) as revoked:
            run = restore(target)
        violations = checker.after_restore(run, target)
        account.grant()
        retry = restore(again)
        violations += checker.after_restore(retry, again)
        _verdict("restore create", how, run, retry, violations, revoked.is_set())
    finally:
        for namespace in (target, again):
            kube.delete_if_present(f"/api/v1/namespaces/{namespace}")
