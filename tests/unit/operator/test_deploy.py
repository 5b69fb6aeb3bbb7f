"""deploy/ holds exactly what salvage.operator renders, and the CRDs are structural."""

from __future__ import annotations

from pathlib import Path

import yaml

from salvage.operator.crds import crds
from salvage.operator.manifests import deploy_files

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"


def test_deploy_directory_equals_the_rendering() -> None:
    for name, text in deploy_files().items():
        assert (DEPLOY / name).read_text() == text, \
            f"deploy/{name} is stale: run `python -m salvage.operator.manifests deploy`"


def _walk(schema: dict, path: str = "") -> list[str]:  # type: ignore[type-arg]
    """Places a structural schema must not have: a node without a type (unless it
    preserves unknown fields), or additionalProperties beside properties."""
    bad = []
    if "type" not in schema and not schema.get("x-kubernetes-preserve-unknown-fields"):
        bad.append(path or "/")
    if "properties" in schema and "additionalProperties" in schema:
        bad.append(path)
    for key, child in (schema.get("properties") or {}).items():
        bad += _walk(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            bad += _walk(schema[key], f"{path}[{key}]")
    return bad


def test_every_crd_is_structural_with_status_and_columns() -> None:
    kinds = []
    for crd in crds():
        version = crd["spec"]["versions"][0]
        assert _walk(version["schema"]["openAPIV3Schema"]) == [], crd["metadata"]["name"]
        assert version["subresources"] == {"status": {}}
        assert any(c["jsonPath"] == ".status.phase" for c in version["additionalPrinterColumns"])
        kinds.append(crd["spec"]["names"]["kind"])
    assert kinds == ["BackupLocation", "Backup", "Restore", "Schedule", "Drill"]


def test_yaml_parses_back_to_the_objects() -> None:
    text = deploy_files()["crds.yaml"]
    assert [d for d in yaml.safe_load_all(text) if d] == crds()


def test_docs_show_every_rbac_rule_with_its_reason() -> None:
    from salvage.operator.install import rules_markdown

    docs = (DEPLOY.parent / "docs" / "operator.md").read_text()
    table = docs.split("<!-- rules: rendered from salvage.operator.install.rules_markdown() -->\n")[1]
    assert table.split("<!-- end rules -->")[0] == rules_markdown()


def test_install_manifests_least_privilege_and_image() -> None:
    from salvage.operator.install import manifests

    objects = {o["kind"]: o for o in manifests("ops", host_paths=("/srv/backups",))}
    verbs = {v for rule in objects["ClusterRole"]["rules"] for v in rule["verbs"]}
    assert not verbs & {"watch", "escalate", "bind", "impersonate", "*"}
    container = objects["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert container["image"].startswith("salvage.local/salvage:") and container["imagePullPolicy"] == "IfNotPresent"
    assert container["command"] + container["args"] == ["salvage", "operator", "run"]
    assert container["volumeMounts"] == [{"name": "location-0", "mountPath": "/srv/backups"}]
    assert objects["Service"]["spec"]["ports"][0]["port"] == 8080
    assert objects["RoleBinding"]["subjects"][0]["namespace"] == "ops"


def test_snapshot_providers_are_the_registry_choices() -> None:
    from salvage.operator.crds import PROVIDERS
    from salvage.volumes.registry import choices

    assert sorted(PROVIDERS) == sorted(choices())
