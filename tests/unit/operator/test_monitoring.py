"""deploy/'s alert rules and dashboard use only metrics the operator exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from salvage.operator.drill_metrics import drill_metrics
from salvage.operator.metrics import Metrics

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def _exported() -> set[str]:
    metrics = Metrics()
    drill_metrics(metrics)  # the Drill reconciler's, in the same registry
    names = set()
    for family in metrics.registry.collect():
        names.add(family.name)
        names |= {s.name for s in family.samples}
    # Counters show their _total sample only once used; the names are fixed by the type.
    names |= {f"{n}_total" for n in names}
    names |= {f"salvage_backup_duration_seconds_{s}" for s in ("bucket", "sum", "count")}
    return names


def _used(expr: str) -> set[str]:
    return set(re.findall(r"\bsalvage_[a-z_]+\b", expr))


def test_metric_names_follow_the_rules() -> None:
    for name in {n for n in _exported() if not n.endswith(("_bucket", "_sum", "_count", "_created"))}:
        assert name.startswith("salvage_")
    counters = [f.name for f in Metrics().registry.collect() if f.type == "counter"]
    assert counters and all(not c.endswith("_total") for c in counters)  # the client adds _total


def test_alert_rules_parse_and_name_real_metrics() -> None:
    rules = yaml.safe_load((DEPLOY / "alerts.yaml").read_text())["groups"][0]["rules"]
    assert {r["alert"] for r in rules} >= {"SalvageScheduleStale", "SalvageLocationUnavailable"}
    exported = _exported()
    for rule in rules:
        assert _used(rule["expr"]) <= exported, rule["alert"]
    stale = next(r for r in rules if r["alert"] == "SalvageScheduleStale")["expr"]
    assert "1.5 * salvage_schedule_expected_interval_seconds" in stale


def test_dashboard_names_real_metrics() -> None:
    dashboard = json.loads((DEPLOY / "dashboard.json").read_text())
    exported = _exported()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert _used(target["expr"]) <= exported, panel["title"]
