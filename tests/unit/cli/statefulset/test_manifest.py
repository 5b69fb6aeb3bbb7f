from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from salvage.cli.statefulset.manifest import load_statefulset
from salvage.model.errors import UsageError
from tests.support.builders import headless_service, statefulset


def test_the_named_statefulset_is_found_among_other_documents(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([headless_service("web", "web"), statefulset("web"), statefulset("db")]))
    before = path.read_bytes()
    assert load_statefulset(path, "db")["metadata"]["name"] == "db"
    assert path.read_bytes() == before


def test_ambiguous_or_missing_statefulsets_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "app.yaml"
    path.write_text(yaml.safe_dump_all([statefulset("web"), statefulset("db")]))
    with pytest.raises(UsageError, match="exactly one StatefulSet"):
        load_statefulset(path)
    with pytest.raises(UsageError, match="StatefulSets in it: web, db"):
        load_statefulset(path, "cache")
    with pytest.raises(UsageError, match="Cannot read manifest"):
        load_statefulset(tmp_path / "absent.yaml")
