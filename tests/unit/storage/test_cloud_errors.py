"""Cloud store errors say the cause underneath: no connection, no bucket."""

from __future__ import annotations

import pytest
from obstore.exceptions import GenericError, NotFoundError

from salvage.devcluster.processes import free_ports
from salvage.storage.object_stores import _translate, open_cloud_store
from salvage.storage.errors import ObjectNotFoundError, StorageError

CREDENTIALS = {"access_key_id": "a", "secret_access_key": "b"}


def test_an_endpoint_nobody_listens_on_says_so():
    [port] = free_ports(1)
    endpoint = f"http://127.0.0.1:{port}"
    store = open_cloud_store("s3", "bucket", endpoint=endpoint, region="us-east-1", credentials=CREDENTIALS)
    with pytest.raises(StorageError) as raised:
        list(store.list("backups/"))
    assert raised.value.message == f"s3://bucket: cannot connect to {endpoint} (Connection refused)"
    assert "that the server runs" in (raised.value.hint or "")


@pytest.mark.parametrize("text", [
    "Client error with status 404 Not Found: <Code>NoSuchBucket</Code>",
    "The specified container does not exist. ContainerNotFound",
])
def test_no_such_bucket_is_not_a_missing_object(text):
    error = _translate(NotFoundError(text), "config", "s3://b", "http://127.0.0.1:9000")
    assert not isinstance(error, ObjectNotFoundError)
    assert isinstance(error, StorageError)
    assert error.message == "s3://b: the bucket does not exist at http://127.0.0.1:9000"


def test_a_write_or_list_that_finds_nothing_found_no_bucket():
    error = _translate(NotFoundError("Object at location not found"), "keys/a", "gs://b", only_bucket_missing=True)
    assert isinstance(error, StorageError) and not isinstance(error, ObjectNotFoundError)
    assert "the bucket does not exist" in error.message


def test_a_missing_object_on_a_read_is_still_a_missing_object():
    assert isinstance(_translate(NotFoundError("Object at location x not found"), "x", "s3://b"), ObjectNotFoundError)
    assert "failed on `x`" in _translate(GenericError("boom"), "x", "s3://b").message


@pytest.mark.parametrize("text", [
    "Generic S3 error: Error performing PUT http://127.0.0.1:9000/b/data/ab after 10 retries: Server returned "
    "non-success status code: 507 Insufficient Storage: <Code>XMinioStorageFull</Code><Message>Storage backend "
    "has reached its minimum free drive threshold. Please delete a few objects to proceed.</Message>",
    "Client error with status 403 Forbidden: <Code>QuotaExceeded</Code>",
    "Generic S3 error: Error performing PUT http://127.0.0.1:9000/b/k in 1.2s, after 10 retries, max_retries: 10, "
    "retry_timeout: 180s - Server returned non-2xx status code: 507 Insufficient Storage: <Error><Code>"
    "XMinioStorageFull</Code><Message>Storage backend has reached its minimum free drive threshold.",
    "Generic MicrosoftAzure error: AccountQuotaExceeded",
])
def test_a_full_store_says_it_is_full(text):
    error = _translate(GenericError(text), "repository/data/ab/cd", "s3://b", "http://127.0.0.1:9000",
                       only_bucket_missing=True)
    assert isinstance(error, StorageError)
    assert error.message.startswith("s3://b: the store is full: it refused to store `repository/data/ab/cd`"), \
        error.message
    assert "Free space on the store" in (error.hint or "")


def test_an_error_whose_cause_is_in_the_xml_body_names_the_stores_code():
    """obstore puts the store's XML body on the lines after its first: the code and message
    (what happened) are said, not just the status and ``<?xml ...?>``."""
    text = ('Generic S3 error: Error performing PUT http://h/b/k - Server returned non-2xx status code: '
            '400 Bad Request: <?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>IncompleteBody</Code>'
            '<Message>You did not provide the number of bytes.</Message><Key>k</Key></Error>\n\nDebug source: ...')
    error = _translate(GenericError(text), "k", "s3://b")
    assert error.message == ("s3://b failed on `k`: Generic S3 error: Error performing PUT http://h/b/k - Server "
                             "returned non-2xx status code: 400 Bad Request: IncompleteBody (You did not provide "
                             "the number of bytes.)")
