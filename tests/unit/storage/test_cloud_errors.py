"""Cloud store errors say the cause underneath: no connection, no bucket."""

from __future__ import annotations

import pytest
from obstore.exceptions import GenericError, NotFoundError, PermissionDeniedError

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
# What MinIO answered in tests/faults/test_store_credentials.py once the location's user lost
# its policy (a list: obstore's generic error) or was deleted (a read: permission denied).
_LIST_REFUSED = (
    "Generic S3 error: Error performing list request: Error performing GET http://127.0.0.1:9000/b?list-type=2"
    "&prefix=repository%2Fsnapshots%2F in 1.3ms - Server returned non-2xx status code: 403 Forbidden: <?xml "
    'version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>Access Denied.</Message>'
    "<BucketName>b</BucketName></Error>\n\nDebug source:\nGeneric {")
_KEY_GONE = (
    "The operation lacked the necessary privileges to complete for path repository/config: Error performing GET "
    "http://127.0.0.1:9000/b/repository/config in 1.3ms - Server returned non-2xx status code: 403 Forbidden: <?xml "
    'version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code><Message>The Access Key Id you '
    "provided does not exist in our records.</Message><Key>repository/config</Key></Error>\n\nDebug source:")
_AZURE_REFUSED = (
    "Generic MicrosoftAzure error: Error performing GET http://127.0.0.1:10000/devstoreaccount1/c?restype=container"
    "&comp=list in 2ms - Server returned non-2xx status code: 403 Server failed to authenticate the request.: "
    '<?xml version="1.0" encoding="utf-8"?><Error><Code>AuthenticationFailed</Code><Message>Server failed to '
    "authenticate the request. Make sure the value of the Authorization header is formed correctly.\nRequestId:1"
    "</Message></Error>")


@pytest.mark.parametrize(("error", "said"), [
    (GenericError(_LIST_REFUSED), "403 Forbidden, AccessDenied: Access Denied."),
    (PermissionDeniedError(_KEY_GONE),
     "403 Forbidden, InvalidAccessKeyId: The Access Key Id you provided does not exist in our records."),
    (GenericError(_AZURE_REFUSED), "AuthenticationFailed: Server failed to authenticate the request."),
    (GenericError("Generic S3 error: DeleteObjects request failed for key repository/locks/c4f: Access Denied. "
                  "(code: AccessDenied)"), "AccessDenied: Access Denied."),
])
def test_refused_credentials_say_so_with_what_the_store_said(error, said):
    """A list refused mid-run was "failed on `repository/snapshots/`: Generic S3 error ... Check the
    endpoint is reachable", and a refused read showed only the first line of the answer."""
    translated = _translate(error, "repository/snapshots/", "s3://b", "http://127.0.0.1:9000", only_bucket_missing=True)
    assert translated.message.startswith("s3://b refused the location's credentials on `repository/snapshots/` ("), \
        translated.message
    assert said in translated.message
    assert "revoked or expired" in (translated.hint or "") and "salvage location check" in (translated.hint or "")
