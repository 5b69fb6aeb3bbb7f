import pytest

from salvage.locations import LocationSpec, delete_location, get_location, list_locations, open_location, save_location
from salvage.model.errors import NotFoundError, UsageError
from salvage.storage.errors import ReadOnlyStoreError


@pytest.fixture(autouse=True)
def dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("SALVAGE_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("SALVAGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SALVAGE_LOCATION", raising=False)


def test_a_default_filesystem_location_always_exists(tmp_path):
    spec = get_location(None)
    assert (spec.name, spec.provider) == ("default", "filesystem")
    assert spec.bucket == str(tmp_path / "data" / "backups")


def test_add_get_delete_round_trip_and_file_is_private(tmp_path):
    save_location(LocationSpec("s3a", "s3", "bucket", prefix="p", endpoint="http://127.0.0.1:9000",
                               credentials={"access_key_id": "k"}))
    assert get_location("s3a").credentials == {"access_key_id": "k"}
    assert [s.name for s in list_locations()] == ["default", "s3a"]
    assert oct((tmp_path / "config" / "locations.yaml").stat().st_mode & 0o777) == "0o600"
    assert get_location("s3a").to_json()["credentials"] == {"access_key_id": "***"}
    delete_location("s3a")
    with pytest.raises(NotFoundError):
        get_location("s3a")


@pytest.mark.parametrize("spec,message", [
    (LocationSpec("x", "ftp", "b"), "Unknown provider"),
    (LocationSpec("x", "s3", "b", access_mode="WriteOnly"), "Unknown access mode"),
    (LocationSpec("x", "s3", ""), "needs a bucket"),
    (LocationSpec("bad name", "s3", "b"), "not a valid location name"),
    # The sweep's `--endpoint notaurl`, and its cousins: no scheme, no host, a bad port.
    (LocationSpec("x", "s3", "b", endpoint="notaurl"), "'notaurl' of location 'x' is not an http\\(s\\) URL"),
    (LocationSpec("x", "s3", "b", endpoint="127.0.0.1:9000"), "is not an http\\(s\\) URL with a host"),
    (LocationSpec("x", "s3", "b", endpoint="http://"), "is not an http\\(s\\) URL with a host"),
    (LocationSpec("x", "azure", "b", endpoint="ftp://host"), "is not an http\\(s\\) URL with a host"),
    (LocationSpec("x", "gcs", "b", endpoint="http://host:99999"), "is not an http\\(s\\) URL with a host"),
    (LocationSpec("x", "filesystem", "/d", endpoint="http://host"), "takes no endpoint"),
])
def test_invalid_definitions_are_refused(spec, message):
    with pytest.raises(UsageError, match=message):
        save_location(spec)
    assert [s.name for s in list_locations()] == ["default"]


def test_a_whole_endpoint_is_accepted():
    save_location(LocationSpec("x", "s3", "b", endpoint="https://s3.example.com"))
    save_location(LocationSpec("y", "azure", "b", endpoint="http://127.0.0.1:10000/devstoreaccount1"))
    assert get_location("y").endpoint == "http://127.0.0.1:10000/devstoreaccount1"


def test_adding_a_name_twice_is_refused():
    save_location(LocationSpec("a", "filesystem", "/tmp/a"))
    with pytest.raises(UsageError, match="already exists"):
        save_location(LocationSpec("a", "filesystem", "/tmp/b"))


def test_a_read_only_location_refuses_and_counts_writes(tmp_path):
    save_location(LocationSpec("ro", "filesystem", str(tmp_path / "ro"), access_mode="ReadOnly"))
    location = open_location("ro")
    with pytest.raises(ReadOnlyStoreError):
        location.store.put("backups/x/manifest.json", b"{}")
    with pytest.raises(ReadOnlyStoreError):
        location.store.delete("backups/x/manifest.json")
    assert not (tmp_path / "ro" / "backups").exists()
