"""exec through the real API server to kwok's kubelet endpoint, which runs the command here."""

from __future__ import annotations

from pathlib import Path

import pytest

from salvage.k8s.client import KubeClient
from salvage.k8s.exec import ExecTimeout, exec_in_pod
from salvage.model.errors import KubernetesError
from tests.support.builders import kwok_exec, pod
from tests.support.waiting import wait_for

pytestmark = pytest.mark.integration


def _running_pod(kube: KubeClient, ns: str, name: str, work_dir: Path | None) -> None:
    kube.create(f"/api/v1/namespaces/{ns}/pods", pod(name, containers=("app", "sidecar")))
    if work_dir is not None:
        kube.create(f"/apis/kwok.x-k8s.io/v1alpha1/namespaces/{ns}/execs", kwok_exec(name, str(work_dir)))
    wait_for(lambda: kube.get(f"/api/v1/namespaces/{ns}/pods/{name}").get("status", {}).get("phase") == "Running",
             timeout=60, what=f"pod {name} Running")


def test_output_streams_and_success(kube: KubeClient, ns: str, tmp_path: Path) -> None:
    _running_pod(kube, ns, "app", tmp_path)
    # kwok picks its Exec rules up through a watch: wait until it has this one.
    wait_for(lambda: exec_in_pod(kube, ns, "app", ["true"], container="app").ok, what="kwok to serve exec")
    result = exec_in_pod(kube, ns, "app", ["sh", "-c", "pwd; echo oops >&2"], container="sidecar")
    assert result.exit_code == 0
    assert result.stdout == f"{tmp_path}\n"
    assert result.stderr == "oops\n"


def test_many_execs_in_a_row_then_plain_requests(kube: KubeClient, ns: str, tmp_path: Path) -> None:
    # httpx-ws may leave a read pending on a closed socket; the next connection that reuses
    # its descriptor then breaks (SSL: WRONG_VERSION_NUMBER). See salvage.k8s.exec._stop_reader.
    _running_pod(kube, ns, "app", tmp_path)
    wait_for(lambda: exec_in_pod(kube, ns, "app", ["true"], container="app").ok, what="kwok to serve exec")
    for number in range(20):
        assert exec_in_pod(kube, ns, "app", ["echo", str(number)], container="app").stdout == f"{number}\n"
        assert kube.get(f"/api/v1/namespaces/{ns}/pods/app")["metadata"]["name"] == "app"


def test_a_failing_command_and_a_timeout_are_reported(kube: KubeClient, ns: str, tmp_path: Path) -> None:
    _running_pod(kube, ns, "app", tmp_path)
    wait_for(lambda: exec_in_pod(kube, ns, "app", ["true"], container="app").ok, what="kwok to serve exec")

    failed = exec_in_pod(kube, ns, "app", ["sh", "-c", "exit 3"], container="app")
    assert not failed.ok
    assert "exit status 3" in failed.message  # kwok reports failures without an exit code

    with pytest.raises(ExecTimeout, match=f"pod {ns}/app container app did not finish within 0.5s"):
        exec_in_pod(kube, ns, "app", ["sleep", "3"], container="app", timeout=0.5)


def test_a_missing_pod_or_container_is_a_clear_error(kube: KubeClient, ns: str) -> None:
    with pytest.raises(KubernetesError) as err:
        exec_in_pod(kube, ns, "ghost", ["true"])
    assert err.value.status == 404
    assert f"Cannot exec in pod {ns}/ghost" in err.value.message

    _running_pod(kube, ns, "two", None)
    with pytest.raises(KubernetesError, match="a container name must be specified for pod two"):
        exec_in_pod(kube, ns, "two", ["true"])
