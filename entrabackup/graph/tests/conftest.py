"""Shared fixtures: a GraphClient on httpx.MockTransport with a fake token source and a recorded sleep."""

from __future__ import annotations

import random

import httpx
import pytest

from entrabackup.graph import GraphClient, custom_cloud, reset_pacers
from entrabackup.graph.auth import TokenClaims

GRAPH = "https://graph.test"
CLOUD = custom_cloud("https://login.test", GRAPH)


class FakeTokens:
    """Stands in for TokenProvider in unit tests of the request logic."""

    def __init__(self) -> None:
        self.invalidated = 0

    def token(self) -> str:
        return f"token-{self.invalidated}"

    def invalidate(self) -> None:
        self.invalidated += 1

    def claims(self) -> TokenClaims:
        return TokenClaims(roles=("User.Read.All",))

    def close(self) -> None:
        pass


class Recorder:
    """Records sleeps instead of sleeping."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.sleeps.append(seconds)


@pytest.fixture(autouse=True)
def _fresh_pacers():
    reset_pacers()
    yield
    reset_pacers()


@pytest.fixture
def sleeps() -> Recorder:
    return Recorder()


@pytest.fixture
def make_client(sleeps):
    """make_client(handler, **kwargs) -> GraphClient whose HTTP goes to ``handler(request) -> httpx.Response``."""
    clients = []

    def factory(handler, **kwargs) -> GraphClient:
        kwargs.setdefault("pacing", False)
        client = GraphClient(
            CLOUD, "tenant-1", "app-1",
            token_provider=kwargs.pop("tokens", None) or FakeTokens(),
            transport=httpx.MockTransport(handler), sleep=sleeps, rng=random.Random(7), **kwargs,
        )
        clients.append(client)
        return client

    yield factory
    for client in clients:
        client.close()


def page(values, next_link=None, **extra) -> dict:
    body = {"@odata.context": f"{GRAPH}/v1.0/$metadata#users", "value": values, **extra}
    if next_link:
        body["@odata.nextLink"] = next_link
    return body


def graph_error(status: int, code: str, message: str = "failed", headers=None) -> httpx.Response:
    body = {"error": {"code": code, "message": message, "innerError": {"request-id": "req-1", "date": "x"}}}
    return httpx.Response(status, json=body, headers=headers or {})
