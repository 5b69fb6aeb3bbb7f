"""A small synchronous client for the Kubernetes REST API that keeps objects as raw JSON."""

from __future__ import annotations

import ssl
from collections.abc import Callable, Iterator
from typing import Any

import httpx

from salvage.k8s.kubeconfig import Connection, load_connection
from salvage.k8s.retry import RetryPolicy, retry_after, retryable_error, retryable_status
from salvage.model.errors import KubernetesError

JSON = dict[str, Any]


class KubeClient:
    """Raw-JSON access to one API server. Paths are API paths (``/api/v1/nodes``)."""

    def __init__(self, connection: Connection, *, timeout: float = 30.0,
                 transport: httpx.BaseTransport | None = None, retry: RetryPolicy | None = None,
                 on_retry: Callable[[str], None] | None = None) -> None:
        """``transport`` replaces the network, e.g. an ``httpx.MockTransport`` in unit tests;
        ``retry`` says when a failed request is tried again (k8s/retry.py), and ``on_retry``
        hears each retry as one line (the CLI shows it as a warning)."""
        self.connection = connection
        self._timeout = timeout
        self._transport = transport
        self.retry = retry or RetryPolicy()
        self.on_retry = on_retry
        self._http = self._new_http()

    def _new_http(self) -> httpx.Client:
        connection = self.connection
        verify: ssl.SSLContext | bool
        if connection.insecure:
            verify = False
        else:
            verify = ssl.create_default_context(cafile=connection.ca_file)
            if connection.client_cert:
                verify.load_cert_chain(connection.client_cert, connection.client_key)
        headers = {"Accept": "application/json"}
        if connection.token:
            headers["Authorization"] = f"Bearer {connection.token}"
        return httpx.Client(base_url=connection.server, verify=verify, headers=headers, timeout=self._timeout,
                            event_hooks={"response": [_keep_error_body]}, transport=self._transport)

    @classmethod
    def from_kubeconfig(cls, path: str | None = None, context: str | None = None, *,
                        on_retry: Callable[[str], None] | None = None) -> KubeClient:
        return cls(load_connection(path, context), on_retry=on_retry)

    @property
    def http(self) -> httpx.Client:
        """The authenticated HTTP client, for protocols beyond JSON requests (exec's WebSocket)."""
        return self._http

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
                content_type: str = "application/json") -> JSON:
        """One request, tried again as ``self.retry`` allows (k8s/retry.py); the error after
        the last try says how many there were."""
        response = self._send(method, path, body=body, params=params, content_type=content_type)
        return response.json() if response.content else {}

    def get_bytes(self, path: str, params: dict[str, Any] | None = None, *, accept: str | None = None) -> bytes:
        """A GET's body as the server sent it (retried as :meth:`request`), for readers that
        keep the server's own JSON or ask for another representation by ``accept``."""
        return self._send("GET", path, params=params, accept=accept).content

    def _send(self, method: str, path: str, *, body: Any = None, params: dict[str, Any] | None = None,
              content_type: str = "application/json", accept: str | None = None) -> httpx.Response:
        policy, started = self.retry, self.retry.clock()
        headers = {"Content-Type": content_type} if body is not None else {}
        if accept:
            headers["Accept"] = accept
        attempt = 1
        while True:
            try:
                response = self._http.request(method, path, json=body, params=params, headers=headers or None)
            except httpx.HTTPError as exc:
                if not (retryable_error(method, exc) and self._may_retry(attempt, started)):
                    raise self._unreachable(exc, attempt, started) from exc
                self._wait(attempt, method, path, _reason(exc), policy.delay(attempt))
            else:
                if response.status_code < 400:
                    return response
                if not (retryable_status(method, response.status_code) and self._may_retry(attempt, started)):
                    raise _api_error(method, path, response)
                delay = retry_after(response, policy.delay(attempt), policy.max_delay)
                self._wait(attempt, method, path, f"HTTP {response.status_code}", delay)
            attempt += 1

    def _may_retry(self, attempt: int, started: float) -> bool:
        return attempt < self.retry.attempts and self.retry.clock() - started < self.retry.give_up_after

    def _wait(self, attempt: int, method: str, path: str, reason: str, delay: float) -> None:
        if self.on_retry:
            self.on_retry(f"{method} {path} failed ({reason}); trying again in {delay:.1f}s "
                          f"(try {attempt + 1} of {self.retry.attempts})")
        self.retry.sleep(delay)

    def _unreachable(self, exc: httpx.HTTPError, attempt: int, started: float) -> KubernetesError:
        tries = f" after {attempt} tries over {self.retry.clock() - started:.0f}s" if attempt > 1 else ""
        return KubernetesError(
            f"Cannot reach the Kubernetes API at {self.connection.server}{tries}: {_reason(exc)}",
            hint="Check that the cluster is running (`salvage dev cluster status` for a local one) "
                 "and reachable from here, then run the command again.",
        )

    def get_text(self, path: str, **params: Any) -> str:
        """A subresource that answers plain text (a pod's ``log``)."""
        try:
            response = self._http.get(path, params=params or None, headers={"Accept": "*/*"})
        except httpx.HTTPError as exc:
            raise KubernetesError(f"Cannot reach the Kubernetes API at {self.connection.server}: {exc}") from exc
        if response.status_code >= 400:
            raise _api_error("GET", path, response)
        return response.text

    def get(self, path: str, **params: Any) -> JSON:
        return self.request("GET", path, params=params or None)

    def create(self, path: str, body: JSON) -> JSON:
        return self.request("POST", path, body=body)

    def replace(self, path: str, body: JSON) -> JSON:
        return self.request("PUT", path, body=body)

    def patch(self, path: str, body: JSON, *, merge: bool = True) -> JSON:
        kind = "application/merge-patch+json" if merge else "application/json-patch+json"
        return self.request("PATCH", path, body=body, content_type=kind)

    def delete(self, path: str, **params: Any) -> JSON:
        return self.request("DELETE", path, params=params or None)

    def list(self, path: str, *, limit: int = 500, **params: Any) -> Iterator[JSON]:
        """Every item of a collection, page by page (``limit``/``continue``), as raw JSON."""
        cont: str | None = None
        while True:
            query = dict(params, limit=limit)
            if cont:
                query["continue"] = cont
            page = self.request("GET", path, params=query)
            yield from page.get("items") or []
            cont = (page.get("metadata") or {}).get("continue")
            if not cont:
                return

    def find(self, path: str) -> JSON | None:
        """The object at ``path``, or None when there is none (any other error is raised)."""
        try:
            return self.get(path)
        except KubernetesError as exc:
            if exc.status == 404:
                return None
            raise

    def create_if_absent(self, path: str, body: JSON) -> bool:
        """Create the object; True if created, False if one of that name already exists."""
        try:
            self.create(path, body)
        except KubernetesError as exc:
            if exc.status == 409:
                return False
            raise
        return True

    def delete_if_present(self, path: str, **params: Any) -> bool:
        """Delete the object; True if a deletion was requested, False if it was already gone."""
        try:
            self.delete(path, **params)
        except KubernetesError as exc:
            if exc.status == 404:
                return False
            raise
        return True

    def exists(self, path: str) -> bool:
        return self.find(path) is not None


def _reason(exc: httpx.HTTPError) -> str:
    return str(exc) or type(exc).__name__


def _keep_error_body(response: httpx.Response) -> None:
    """Read an error's body while the stream is open: a refused WebSocket upgrade (exec) is
    closed before the caller sees it, and its body says why (no such container, ...)."""
    if response.status_code >= 400:
        response.read()


def _api_error(method: str, path: str, response: httpx.Response) -> KubernetesError:
    try:
        status = response.json()
        message = status.get("message") or response.text
    except ValueError:
        message = response.text.strip() or response.reason_phrase
    return KubernetesError(f"{method} {path}: {message}", status=response.status_code)
