"""deploy/alerts.yaml under Prometheus's own rule engine: `promtool check rules` accepts it,
and `promtool test rules` shows each alert firing when it should, with its labels and
rendered annotations, and staying quiet when it should not (a schedule backed up on time,
a paused one, a failure an hour old, a location that came back).

promtool is built from its Go module like the other test servers (`salvage dev build
--test-servers`). Series are written as the operator exports them (metric and label names
from operator/metrics.py; tests/unit/operator/test_monitoring.py checks the rules name
only exported metrics)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from salvage.devcluster.servers.install import server_binaries

pytestmark = pytest.mark.integration

ALERTS = Path(__file__).resolve().parents[3] / "deploy" / "alerts.yaml"
TARGET = {"job": "salvage", "instance": "salvage-metrics:8080"}


def _promtool() -> Path:
    binary = server_binaries().promtool
    assert binary.exists(), f"promtool is not built ({binary}); run `salvage dev build --test-servers`."
    return binary


def _rules() -> dict[str, dict[str, Any]]:
    return {r["alert"]: r for r in yaml.safe_load(ALERTS.read_text())["groups"][0]["rules"]}


def _series(name: str, values: str, **labels: str) -> dict[str, str]:
    inner = ", ".join(f'{k}="{v}"' for k, v in {**labels, **TARGET}.items())
    return {"series": f"{name}{{{inner}}}", "values": values}


def _firing(alert: str, *, scraped: bool = True, **labels: str) -> dict[str, Any]:
    """What promtool must see firing: the rule's own labels, the series' labels (with the
    scrape's job and instance unless the expression matched ``on`` other labels only), and
    the annotations as Prometheus renders them for those labels."""
    rule = _rules()[alert]
    everything = {**(TARGET if scraped else {}), **labels, **rule.get("labels", {})}

    def render(text: str) -> str:
        return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: everything.get(m.group(1), ""), text)

    return {"exp_labels": everything,
            "exp_annotations": {k: render(v) for k, v in (rule.get("annotations") or {}).items()}}


def _at(minutes: int, alert: str, *firing: dict[str, Any]) -> dict[str, Any]:
    return {"eval_time": f"{minutes}m", "alertname": alert, "exp_alerts": list(firing)}


HOUR = 3600


def _stale_schedules() -> dict[str, Any]:
    """Hourly schedules (interval 3600 s: stale past 5400 s, for 5 minutes), all made at t=0."""
    on_time = " ".join(f"{h * HOUR}+0x59" for h in range(4))  # a Completed backup every hour
    series = [
        # nightly: one success at t=0, then none: stale from 91m, firing from 96m.
        _series("salvage_backup_last_success_timestamp_seconds", "0+0x240", schedule="nightly"),
        _series("salvage_schedule_expected_interval_seconds", "3600+0x240", schedule="nightly"),
        _series("salvage_schedule_created_timestamp_seconds", "0+0x240", schedule="nightly"),
        # hourly: a success every hour: never stale.
        _series("salvage_backup_last_success_timestamp_seconds", on_time, schedule="hourly"),
        _series("salvage_schedule_expected_interval_seconds", "3600+0x240", schedule="hourly"),
        _series("salvage_schedule_created_timestamp_seconds", "0+0x240", schedule="hourly"),
        # paused: its interval is not exported while paused: never stale, however old.
        _series("salvage_backup_last_success_timestamp_seconds", "0+0x240", schedule="paused"),
        # never: no Completed backup at all: stale from its creation, like nightly.
        _series("salvage_schedule_expected_interval_seconds", "3600+0x240", schedule="never"),
        _series("salvage_schedule_created_timestamp_seconds", "0+0x240", schedule="never"),
        # late: made at t=0, its first success at 30m: stale only 1.5 hours after that.
        _series("salvage_backup_last_success_timestamp_seconds", "_x29 1800+0x210", schedule="late"),
        _series("salvage_schedule_expected_interval_seconds", "3600+0x240", schedule="late"),
        _series("salvage_schedule_created_timestamp_seconds", "0+0x240", schedule="late"),
    ]
    stale = "SalvageScheduleStale"
    return {"interval": "1m", "input_series": series, "alert_rule_test": [
        _at(89, stale),
        _at(93, stale),  # pending, not firing yet (for: 5m)
        _at(97, stale, _firing(stale, scraped=False, schedule="nightly"), _firing(stale, scraped=False, schedule="never")),
        _at(121, stale, _firing(stale, scraped=False, schedule="nightly"), _firing(stale, scraped=False, schedule="never")),
        _at(127, stale, _firing(stale, scraped=False, schedule="late"), _firing(stale, scraped=False, schedule="nightly"),
            _firing(stale, scraped=False, schedule="never")),
    ]}


def _failures() -> dict[str, Any]:
    """One Failed backup at 30m and one PartiallyFailed at 40m, of schedule nightly."""
    failed, partial = "SalvageBackupFailed", "SalvageBackupPartiallyFailed"
    return {"interval": "1m", "input_series": [
        _series("salvage_backup_failure_total", "0x29 1x500", schedule="nightly"),
        _series("salvage_backup_partial_failure_total", "0x39 1x500", schedule="nightly"),
        _series("salvage_backup_failure_total", "0x530", schedule="hourly"),
    ], "alert_rule_test": [
        _at(29, failed),
        _at(31, failed, _firing(failed, schedule="nightly")),
        _at(95, failed),  # an hour later: no longer
        _at(39, partial),
        _at(41, partial, _firing(partial, schedule="nightly")),
        _at(395, partial, _firing(partial, schedule="nightly")),
        _at(410, partial),  # six hours later
    ]}


def _location() -> dict[str, Any]:
    """minio answers until 20m, not for 30 minutes, then again; local always answers."""
    alert = "SalvageLocationUnavailable"
    return {"interval": "1m", "input_series": [
        _series("salvage_location_available", "1x19 0x29 1x30", location="minio"),
        _series("salvage_location_available", "1x80", location="local"),
    ], "alert_rule_test": [
        _at(25, alert),  # down, but not for 10 minutes yet
        _at(32, alert, _firing(alert, location="minio")),
        _at(60, alert),
    ]}


def _operator() -> dict[str, Any]:
    """The operator scraped (up 1) until 20m, then its target down (up 0) from 20m to 40m, then gone."""
    alert = "SalvageOperatorDown"
    return {"interval": "1m", "input_series": [
        {"series": 'up{job="salvage", instance="salvage-metrics:8080"}', "values": "1x19 0x20"},
    ], "alert_rule_test": [
        _at(15, alert),
        _at(35, alert, {"exp_labels": {"severity": "critical"},
                        "exp_annotations": _firing(alert)["exp_annotations"]}),
        _at(70, alert, {"exp_labels": {"severity": "critical"},
                        "exp_annotations": _firing(alert)["exp_annotations"]}),
    ]}


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(_promtool()), *args], capture_output=True, text=True, timeout=120)


def test_the_rules_pass_promtool_check() -> None:
    checked = _run("check", "rules", str(ALERTS))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(_rules())} rules found" in checked.stdout, checked.stdout


def test_every_alert_fires_when_it_should_and_only_then(tmp_path: Path) -> None:
    drills = yaml.safe_load((Path(__file__).parent / "drill_alerts.promtool.yaml").read_text())["tests"]
    tests = [_stale_schedules(), _failures(), _location(), _operator(), *drills]
    tested = {case["alertname"] for test in tests for case in test["alert_rule_test"]}
    assert tested == set(_rules()), "a unit test for every alert in deploy/alerts.yaml"
    spec = tmp_path / "alerts_test.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(ALERTS)], "evaluation_interval": "1m", "tests": tests},
                                   sort_keys=False))
    result = _run("test", "rules", str(spec))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout + result.stderr


def test_a_wrong_expectation_fails_promtool(tmp_path: Path) -> None:
    """The harness itself can fail: the stale alert expected where it cannot fire."""
    wrong = _stale_schedules()
    wrong["alert_rule_test"] = [_at(97, "SalvageScheduleStale", _firing("SalvageScheduleStale", scraped=False, schedule="hourly"))]
    spec = tmp_path / "wrong_test.yaml"
    spec.write_text(yaml.safe_dump({"rule_files": [str(ALERTS)], "evaluation_interval": "1m", "tests": [wrong]}))
    result = _run("test", "rules", str(spec))
    assert result.returncode != 0 and "FAILED" in result.stdout + result.stderr, result.stdout
