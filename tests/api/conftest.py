"""API test helpers: a frozen clock (exact timestamps in JSON), one token per persona on demand, and
`api` to call endpoints through Django's test client as a persona."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import time_machine

NOW = dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC)
NOW_JSON = "2026-03-02T09:30:00Z"


@pytest.fixture(autouse=True)
def frozen_clock() -> Iterator[None]:
    with time_machine.travel(NOW, tick=False):
        yield


class Api:
    """`api.as_("alice").get("/customers")`; `post(path, body, key=...)` sends an Idempotency-Key."""

    def __init__(self, client: Any, book: Any) -> None:
        self.client = client
        self.book = book
        self.tokens: dict[str, str] = {}
        self.headers: dict[str, str] = {}

    def token(self, persona: str) -> str:
        if persona not in self.tokens:
            from ardesk.api.services import create_token

            self.tokens[persona] = create_token(actor=None, user=self.book.users[persona], name="tests")[1]
        return self.tokens[persona]

    def as_(self, persona: str | None) -> Api:
        other = Api(self.client, self.book)
        other.tokens = self.tokens
        other.headers = {} if persona is None else {"HTTP_AUTHORIZATION": f"Bearer {self.token(persona)}"}
        return other

    def _send(self, method: str, path: str, body: Any = None, key: str | None = None, **extra: Any) -> Any:
        headers = dict(self.headers)
        if key is not None:
            headers["HTTP_IDEMPOTENCY_KEY"] = key
        headers.update(extra)
        send = getattr(self.client, method)
        url = f"/api/v1{path}"
        if method == "get":
            return send(url, body or {}, **headers)
        data = body if isinstance(body, str) else json.dumps(body if body is not None else {})
        return send(url, data, content_type="application/json", **headers)

    def get(self, path: str, params: dict[str, Any] | None = None, **extra: Any) -> Any:
        return self._send("get", path, params, **extra)

    def post(self, path: str, body: Any = None, key: str | None = None, **extra: Any) -> Any:
        return self._send("post", path, body, key, **extra)

    def patch(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self._send("patch", path, body, **extra)

    def put(self, path: str, body: Any = None, **extra: Any) -> Any:
        return self._send("put", path, body, **extra)

    def delete(self, path: str, **extra: Any) -> Any:
        return self._send("delete", path, None, **extra)


@pytest.fixture
def api(client: Any, book: Any) -> Api:
    return Api(client, book)


@pytest.fixture
def keys() -> Callable[[], str]:
    """Distinct, readable idempotency keys: k-1, k-2, ..."""
    counter = iter(range(1, 10_000))
    return lambda: f"k-{next(counter)}"
