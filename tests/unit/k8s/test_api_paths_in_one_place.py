"""API paths are spelled in k8s/ alone (api_groups.py): the rest of the product names a
group's resource, so a path is never built twice nor differently. (The local cluster and
the hostpath driver stand beside the product and probe their own components.)"""

from __future__ import annotations

import re
from pathlib import Path

import salvage

ROOT = Path(salvage.__file__).parent
BESIDE = ("k8s", "devcluster", "drivers")
SPELLED = re.compile(r"""["'](/api/v1|/apis/[a-z0-9.-]+/v)""")


def test_no_module_outside_k8s_spells_an_api_path() -> None:
    found = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
             for path in sorted(ROOT.rglob("*.py")) if path.relative_to(ROOT).parts[0] not in BESIDE
             for number, line in enumerate(path.read_text().splitlines(), 1) if SPELLED.search(line)]
    assert found == [], "use salvage.k8s.api_groups (core, apps, storage, snapshots, path):\n" + "\n".join(found)


def test_the_check_sees_a_spelled_path() -> None:
    assert SPELLED.search('client.get(f"/api/v1/namespaces/{ns}/pods")')
    assert SPELLED.search("client.list('/apis/apps/v1/statefulsets')")
    assert not SPELLED.search('client.get(core("pods", ns))')
