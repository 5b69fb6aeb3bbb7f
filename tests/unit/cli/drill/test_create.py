"""``salvage drill create`` and ``drill delete``: the Drill written matches the CRD's schema
field for field and reads back into the engine's request; bad input (a bad cron, a
Schedule's name given as the cron, both or neither of --from-backup and --backup-schedule,
an operator namespace that does not exist, a name taken) is refused naming the Drill and
the next step, and creates nothing."""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
from typing import Any

import httpx
import pytest
import yaml

from salvage.operator.crds import crds
from salvage.operator.drills import drill_request
from tests.support.cli import Result, run_main
from tests.support.fake_kube import FakeApi

CRON = ["--schedule", "30 4 * * *"]
DRILLS = "/apis/salvage.io/v1alpha1/namespaces/salvage/drills"


class OperatorApi(FakeApi):
    """Refuses objects in a namespace that does not exist, as the API server does."""

    def _handle(self, request: httpx.Request) -> httpx.Response:
        parts = request.url.path.split("/")
        if request.method == "POST" and "namespaces" in parts:
            namespace = parts[parts.index("namespaces") + 1]
            if f"/api/v1/namespaces/{namespace}" not in self.objects:
                self.requests.append((request.method, request.url.path))
                return httpx.Response(404, json={"kind": "Status", "code": 404,
                                                 "message": f'namespaces "{namespace}" not found'})
        return super()._handle(request)


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> FakeApi:
    fake = OperatorApi({"/api/v1/namespaces/salvage": {"metadata": {"name": "salvage"}}})
    for verb in ("create", "delete"):
        # the module, not the command the package exports under the same name
        monkeypatch.setattr(importlib.import_module(f"salvage.cli.drill.{verb}"), "kube_client",
                            lambda _app: fake.client())
    return fake


def salvage(*args: str) -> Result:
    return run_main(list(args), dict(os.environ))


def _check(value: Any, schema: dict[str, Any], where: str) -> None:
    """``value`` fits a structural schema: known fields only, of the declared types."""
    types = {"string": str, "integer": int, "boolean": bool, "object": dict, "array": list, "number": (int, float)}
    assert isinstance(value, types[schema["type"]]), f"{where}: {value!r} is not {schema['type']}"
    if schema["type"] == "object" and "properties" in schema:
        assert set(value) <= set(schema["properties"]), f"{where}: unknown {set(value) - set(schema['properties'])}"
        assert set(schema.get("required", [])) <= set(value), f"{where}: misses {schema['required']}"
        for key, item in value.items():
            _check(item, schema["properties"][key], f"{where}.{key}")
    if schema["type"] == "array":
        for i, item in enumerate(value):
            _check(item, schema["items"], f"{where}[{i}]")
    if "enum" in schema:
        assert value in schema["enum"], where
    if "minimum" in schema:
        assert value >= schema["minimum"], where


def _drill_schema() -> dict[str, Any]:
    [crd] = [c for c in crds() if c["spec"]["names"]["kind"] == "Drill"]
    return crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


def test_a_dry_run_prints_a_drill_that_fits_the_crd_and_reads_back_as_the_request(api: FakeApi) -> None:
    result = salvage("drill", "create", "shop-nightly", *CRON, "--time-zone", "Europe/Berlin",
                     "--backup-schedule", "shop-daily", "--verify-command", "sh -c 'test -s /data/PG_VERSION'",
                     "--verify-selector", "app=pg", "--verify-container", "db", "--timeout", "120",
                     "--keep-reports", "3", "--repo-password-secret", "repo:pw", "--location", "minio", "--dry-run")
    assert result.returncode == 0, result.stderr
    [drill] = list(yaml.safe_load_all(result.stdout))
    assert (drill["apiVersion"], drill["kind"], drill["metadata"]) == (
        "salvage.io/v1alpha1", "Drill", {"name": "shop-nightly", "namespace": "salvage"})
    _check(drill["spec"], _drill_schema(), "spec")
    assert drill["spec"] == {
        "schedule": "30 4 * * *", "timeZone": "Europe/Berlin", "paused": False, "scheduleName": "shop-daily",
        "location": "minio", "checks": {"verifyCommand": ["sh", "-c", "test -s /data/PG_VERSION"],
                                        "verifyContainer": "db", "verifySelector": "app=pg", "timeoutSeconds": 120},
        "keepReports": 3, "repoPasswordSecret": {"name": "repo", "key": "pw"}}
    request = drill_request(drill, "shop-daily-1", dt.datetime(2026, 12, 2, tzinfo=dt.timezone.utc), None)
    assert request.verify_command == ("sh", "-c", "test -s /data/PG_VERSION")
    assert (request.verify_selector, request.verify_container, request.timeout) == ("app=pg", "db", 120.0)
    assert api.requests == [], "a dry run talks to no cluster"


def test_a_dry_run_as_json_holds_only_what_was_given(api: FakeApi) -> None:
    result = salvage("-o", "json", "drill", "create", "golden", "--schedule", "@weekly", "--from-backup", "g1",
                     "--dry-run")
    assert result.returncode == 0, result.stderr
    drill = json.loads(result.stdout)
    _check(drill["spec"], _drill_schema(), "spec")
    assert drill["spec"] == {"schedule": "@weekly", "timeZone": "UTC", "paused": False, "backupName": "g1",
                             "keepReports": 10}


def test_create_writes_the_drill_and_delete_removes_it(api: FakeApi) -> None:
    result = salvage("drill", "create", "golden", *CRON, "--from-backup", "g1", "--paused")
    assert result.returncode == 0, result.stderr
    assert "drill golden created: backup g1 at 30 4 * * * (UTC, paused)" in result.stdout
    stored = api.objects[f"{DRILLS}/golden"]
    assert stored["spec"]["backupName"] == "g1" and stored["spec"]["paused"] is True

    again = salvage("drill", "create", "golden", *CRON, "--from-backup", "g2")
    assert again.returncode == 2
    assert "A Drill named 'golden' already exists in namespace 'salvage'" in again.stderr
    assert "salvage drill delete golden -n salvage" in again.stderr
    assert api.objects[f"{DRILLS}/golden"]["spec"]["backupName"] == "g1", "left as it was"

    assert salvage("drill", "delete", "golden").returncode == 0
    assert f"{DRILLS}/golden" not in api.objects
    gone = salvage("drill", "delete", "golden")
    assert gone.returncode == 1 and "There is no Drill 'golden' in namespace 'salvage'" in gone.stderr
    assert "kubectl get drills -n salvage" in gone.stderr


@pytest.mark.parametrize(("args", "said"), [
    (["--from-backup", "b"], "When should Drill 'd' run? Pass --schedule CRON; nothing was created."),
    ([*CRON], "What should Drill 'd' restore? Pass --from-backup NAME or --backup-schedule NAME (exactly one)"),
    ([*CRON, "--from-backup", "b", "--backup-schedule", "s"], "(exactly one); nothing was created"),
    (["--schedule", "61 * * * *", "--from-backup", "b"], "Drill 'd' was not created: cron '61 * * * *': the "
                                                           "minute field '61' is not valid"),
    (["--schedule", "shop-daily", "--from-backup", "b"], "pass --backup-schedule shop-daily"),
    ([*CRON, "--time-zone", "Mars/Base", "--from-backup", "b"], "Unknown time zone 'Mars/Base'"),
    ([*CRON, "--from-backup", "b", "--verify-command", "sh -c 'x"], "cannot be split into words"),
    ([*CRON, "--from-backup", "b", "--repo-password-secret", "other/repo"], "only in its own namespace 'salvage'"),
])
def test_bad_input_is_refused_naming_the_drill_and_creates_nothing(api: FakeApi, args: list[str], said: str) -> None:
    result = salvage("drill", "create", "d", *args)
    assert result.returncode == 2, result.stderr
    assert said in " ".join(result.stderr.split()), result.stderr
    assert api.writes == []


def test_an_operator_namespace_that_does_not_exist_is_named(api: FakeApi) -> None:
    result = salvage("drill", "create", "d", *CRON, "--from-backup", "b", "-n", "nope")
    assert result.returncode == 2
    text = " ".join(result.stderr.split())
    assert "Namespace 'nope' does not exist, so Drill 'd' was not created." in text, text
    assert "salvage install -n nope" in text
    assert not [p for p in api.objects if "/drills/" in p]
