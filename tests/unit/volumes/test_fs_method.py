from pathlib import Path

import pytest

from salvage.volumes.fs import choose_method, local_path

ANN = "backup.salvage.io/method"


def obj(**annotations):
    return {"metadata": {"annotations": annotations}}


@pytest.mark.parametrize(("claim", "storage_class", "default_fs", "expected"), [
    (obj(), None, False, "snapshot"),
    (obj(), None, True, "fs"),
    (obj(**{ANN: "fs"}), None, False, "fs"),
    (obj(**{ANN: "snapshot"}), obj(**{ANN: "fs"}), True, "snapshot"),  # the claim wins
    (obj(), obj(**{ANN: "fs"}), False, "fs"),                          # then the class
    (obj(**{ANN: "bogus"}), None, False, "snapshot"),
    (obj(**{ANN: "snapshot-move-data"}), None, True, "snapshot-move-data"),
    (obj(), obj(**{ANN: "snapshot-move-data"}), False, "snapshot-move-data"),
    (obj(**{ANN: "fs"}), obj(**{ANN: "snapshot-move-data"}), False, "fs"),
])
def test_method_choice(claim, storage_class, default_fs, expected):
    assert choose_method(claim, storage_class, default_fs=default_fs) == expected


def test_local_paths_of_volume_kinds():
    hostpath = {"spec": {"csi": {"driver": "hostpath.salvage.io", "volumeAttributes": {"path": "/v/1"}}}}
    assert local_path(hostpath) == Path("/v/1")
    assert local_path({"spec": {"hostPath": {"path": "/h"}}}) == Path("/h")
    assert local_path({"spec": {"local": {"path": "/l"}}}) == Path("/l")
    assert local_path({"spec": {"csi": {"driver": "ebs.csi.aws.com", "volumeHandle": "vol-1"}}}) is None
