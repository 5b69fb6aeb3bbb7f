"""A backup's listing keeps each item's JSON as the server sent it (apiVersion and kind put in
front), parses each page once, and fetches the next page while the caller uses this one,
with errors where the plain list raises them."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from salvage.k8s.client import KubeClient
from salvage.k8s.kubeconfig import Connection
from salvage.k8s.listing import list_objects, split_list
from salvage.k8s.retry import NO_RETRY
from salvage.model.errors import KubernetesError
from tests.support.waiting import wait_for

PATH = "/api/v1/namespaces/a/configmaps"


def _item(i: int) -> dict[str, object]:
    return {"metadata": {"name": f"cm-{i}", "namespace": "a"}, "data": {"k": "é \u2028 \\n \"q\"", "n": 1.50}}


def _pages(count: int, per_page: int) -> list[bytes]:
    """The pages a server would send (compact JSON, as kube-apiserver writes it)."""
    pages = []
    for start in range(0, count, per_page):
        meta = {"resourceVersion": "7"}
        if start + per_page < count:
            meta["continue"] = f"token-{start + per_page}"
        items = ",".join(json.dumps(_item(i), ensure_ascii=False, separators=(",", ":")).replace("1.5", "1.50")
                         for i in range(start, min(count, start + per_page)))
        pages.append(f'{{"kind":"ConfigMapList","apiVersion":"v1","metadata":{json.dumps(meta)},"items":[{items}]}}'
                     .encode())
    return pages


class Server:
    def __init__(self, pages: list[bytes], fail_at: int | None = None) -> None:
        self.pages, self.fail_at = pages, fail_at
        self.asked: list[str | None] = []
        self.lock = threading.Lock()

    def client(self) -> KubeClient:
        return KubeClient(Connection(server="https://kube.test", insecure=True),
                          transport=httpx.MockTransport(self.handle), retry=NO_RETRY)

    def handle(self, request: httpx.Request) -> httpx.Response:
        token = request.url.params.get("continue")
        with self.lock:
            self.asked.append(token)
        number = int(token.split("-")[1]) // 2 if token else 0
        if number == self.fail_at:
            return httpx.Response(410, json={"kind": "Status", "message": "the continue token expired"})
        assert request.url.params["limit"] == "2" and request.url.params.get("labelSelector") == "app=x"
        return httpx.Response(200, content=self.pages[number])


def test_items_keep_the_servers_text_with_apiversion_and_kind_in_front() -> None:
    server = Server(_pages(5, 2))
    listed = list(list_objects(server.client(), PATH, api_version="v1", kind="ConfigMap", limit=2,
                               params={"labelSelector": "app=x"}))
    assert [o["metadata"]["name"] for o, _t in listed] == [f"cm-{i}" for i in range(5)]
    assert server.asked == [None, "token-2", "token-4"]
    obj, text = listed[0]
    assert obj == {**_item(0), "apiVersion": "v1", "kind": "ConfigMap"}
    assert json.loads(text) == obj
    # The server's own bytes: its number spelling and its unescaped UTF-8 are kept.
    assert text.startswith('{"apiVersion":"v1","kind":"ConfigMap","metadata":') and '"n":1.50' in text and "é" in text


def test_an_item_that_names_its_own_kind_is_kept_as_it_is() -> None:
    body = b'{"metadata":{},"items":[{"apiVersion":"x.io/v1","kind":"Thing","metadata":{"name":"t"}}]}'
    server = Server([body])
    server.handle = lambda _r: httpx.Response(200, content=body)  # type: ignore[method-assign]
    [(obj, text)] = list(list_objects(server.client(), "/apis/x.io/v1/things", api_version="x.io/v1", kind="Thing"))
    assert text == '{"apiVersion":"x.io/v1","kind":"Thing","metadata":{"name":"t"}}' and obj["kind"] == "Thing"


def test_a_pretty_printed_item_is_written_on_one_line() -> None:
    body = json.dumps({"metadata": {}, "items": [{"metadata": {"name": "p"}}, {}]}, indent=2).encode()
    server = Server([body])
    server.handle = lambda _r: httpx.Response(200, content=body)  # type: ignore[method-assign]
    listed = list(list_objects(server.client(), PATH, api_version="v1", kind="ConfigMap"))
    assert all("\n" not in text and json.loads(text) == obj for obj, text in listed)
    assert listed[1].obj == {"apiVersion": "v1", "kind": "ConfigMap"}


def test_a_failing_page_raises_after_the_items_of_the_pages_before_it() -> None:
    server = Server(_pages(6, 2), fail_at=2)
    seen = []
    with pytest.raises(KubernetesError, match="continue token expired"):
        for obj, _text in list_objects(server.client(), PATH, api_version="v1", kind="ConfigMap", limit=2,
                                       params={"labelSelector": "app=x"}):
            seen.append(obj["metadata"]["name"])
    assert seen == ["cm-0", "cm-1", "cm-2", "cm-3"]


def test_the_next_page_is_asked_for_before_the_caller_is_done_with_this_one() -> None:
    server = Server(_pages(4, 2))
    items = list_objects(server.client(), PATH, api_version="v1", kind="ConfigMap", limit=2,
                         params={"labelSelector": "app=x"})
    next(items)  # the first item of page 1 is in the caller's hands: page 2 is on its way
    wait_for(lambda: len(server.asked) == 2, timeout=10, interval=0.01, what="the second page asked for")
    assert server.asked == [None, "token-2"]
    items.close()


@pytest.mark.parametrize("body", [b'{"items": [ ] , "metadata" : {"continue": ""} }', b"{}", b'{"items":null}'])
def test_split_list_reads_any_spacing_and_order(body: bytes) -> None:
    fields, items = split_list(body)
    assert items == [] and fields.get("metadata", {}).get("continue", "") == ""


@pytest.mark.parametrize("body", [b'{"items":[{}', b'{"items":[{} {}]}', b"[]", b'{"a":1 "b":2}'])
def test_split_list_refuses_what_is_not_a_list_response(body: bytes) -> None:
    with pytest.raises(json.JSONDecodeError):
        split_list(body)
