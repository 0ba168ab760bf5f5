"""Retry, back-off and error mapping of single requests (httpx.MockTransport, no real waiting)."""

import httpx
import pytest

from entrabackup.graph import (
    BadRequestError,
    DeltaExpiredError,
    GraphUnavailableError,
    LicenceRequiredError,
    NotFoundError,
    PermissionDeniedError,
    ThrottledError,
    UnauthorizedError,
)

from .conftest import GRAPH, graph_error


def sequence(*responses):
    """A handler answering the given responses (or raising the given exceptions) in order."""
    calls, auth = [], []

    def handler(request):
        calls.append(request)
        auth.append(request.headers.get("Authorization"))  # the request object is reused across tries
        item = responses[min(len(calls), len(responses)) - 1]
        if isinstance(item, Exception):
            raise item
        return item

    handler.calls, handler.auth = calls, auth
    return handler


OK = httpx.Response(200, json={"id": "1"})


def test_429_waits_the_fractional_retry_after_then_succeeds(make_client, sleeps):
    client = make_client(sequence(graph_error(429, "TooManyRequests", headers={"Retry-After": "2.128"}), OK))
    assert client.get("/users/1") == {"id": "1"}
    assert sleeps.sleeps == [2.128]
    stats = client.stats.as_dict()
    assert (stats["throttled_429"], stats["retries"], stats["requests"]) == (1, 1, 2)
    assert stats["wait_seconds_backoff"] == pytest.approx(2.128)


def test_429_without_retry_after_backs_off_at_least_a_second(make_client, sleeps):
    client = make_client(sequence(graph_error(429, "TooManyRequests"), graph_error(429, "TooManyRequests"), OK))
    client.get("/identity/conditionalAccess/policies")
    assert len(sleeps.sleeps) == 2
    assert sleeps.sleeps[0] == 1.0 and 1.0 <= sleeps.sleeps[1] <= 1.0  # full jitter, floored at 1 s


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_server_errors_are_retried_for_reads(make_client, status):
    client = make_client(sequence(graph_error(status, "generalException"), OK))
    assert client.get("/users/1") == {"id": "1"}
    assert client.stats.server_errors_5xx == 1


def test_persistent_throttling_gives_up_with_throttled_error_after_max_retries(make_client, sleeps):
    handler = sequence(graph_error(429, "TooManyRequests", headers={"Retry-After": "1"}))
    client = make_client(handler, max_retries=3)
    with pytest.raises(ThrottledError) as caught:
        client.get("/users")
    assert len(handler.calls) == 4 and sleeps.sleeps == [1.0, 1.0, 1.0]
    assert "after 4 tries" in str(caught.value) and caught.value.hint


def test_persistent_5xx_gives_up_with_unavailable_error(make_client):
    client = make_client(sequence(graph_error(503, "serviceUnavailable")), max_retries=2)
    with pytest.raises(GraphUnavailableError, match="failed 3 tries"):
        client.get("/users")


@pytest.mark.parametrize(
    "exc",
    [httpx.ReadError("reset"), httpx.RemoteProtocolError("incomplete"), httpx.ReadTimeout("slow"),
     httpx.ConnectError("refused")],
)
def test_dropped_connections_and_timeouts_are_retried_for_reads(make_client, exc):
    client = make_client(sequence(exc, OK))
    assert client.get("/users/1") == {"id": "1"}
    assert client.stats.transport_errors == 1 and client.stats.retries == 1


def test_truncated_json_body_is_retried(make_client):
    cut = httpx.Response(200, content=b'{"value": [{"id": "1"}, {"id"', headers={"Content-Type": "application/json"})
    client = make_client(sequence(cut, OK))
    assert client.get("/users") == {"id": "1"}
    assert client.stats.transport_errors == 1


def test_post_is_not_resent_after_the_connection_dropped_mid_request(make_client):
    handler = sequence(httpx.ReadError("reset"), OK)
    client = make_client(handler)
    with pytest.raises(GraphUnavailableError) as caught:
        client.post("/users", json={"displayName": "x"})
    assert len(handler.calls) == 1 and "may or may not" in caught.value.hint


def test_post_is_resent_when_the_connection_was_never_made_or_on_429(make_client):
    handler = sequence(httpx.ConnectError("refused"), graph_error(429, "TooManyRequests"), httpx.Response(201, json={"id": "n"}))
    client = make_client(handler)
    assert client.post("/users", json={"displayName": "x"}) == {"id": "n"}
    assert len(handler.calls) == 3


def test_post_500_is_not_retried(make_client):
    handler = sequence(graph_error(500, "generalException"), OK)
    with pytest.raises(GraphUnavailableError):
        make_client(handler).post("/users", json={})
    assert len(handler.calls) == 1


def test_401_refreshes_the_token_once(make_client):
    handler = sequence(graph_error(401, "InvalidAuthenticationToken"), OK)
    client = make_client(handler)
    assert client.get("/users/1") == {"id": "1"}
    assert handler.auth == ["Bearer token-0", "Bearer token-1"]


def test_second_401_is_final(make_client):
    client = make_client(sequence(graph_error(401, "InvalidAuthenticationToken")))
    with pytest.raises(UnauthorizedError):
        client.get("/users/1")


def test_501_on_unsupported_select_is_not_retried(make_client):
    handler = sequence(graph_error(501, "NotImplemented", "This operation target is not yet supported."))
    with pytest.raises(BadRequestError):
        make_client(handler).get("/users", params={"$select": "aboutMe"})
    assert len(handler.calls) == 1


def test_403_names_the_missing_permission(make_client):
    client = make_client(sequence(graph_error(403, "Authorization_RequestDenied", "Insufficient privileges")))
    with pytest.raises(PermissionDeniedError) as caught:
        client.get("/users")
    assert caught.value.needed == ["User.Read.All"]
    assert "User.Read.All" in caught.value.hint and "Grant admin consent" in caught.value.hint
    assert caught.value.request_id == "req-1"


def test_403_group_members_needs_groupmember_read(make_client):
    client = make_client(sequence(graph_error(403, "Authorization_RequestDenied")))
    with pytest.raises(PermissionDeniedError) as caught:
        client.get("/groups/g1/members")
    assert caught.value.needed == ["GroupMember.Read.All"]


def test_403_non_premium_tenant_is_a_licence_error(make_client):
    code = "Authentication_RequestFromNonPremiumTenantOrB2CTenant"
    client = make_client(sequence(graph_error(403, code, "Neither tenant is B2C or tenant doesn't have premium license")))
    with pytest.raises(LicenceRequiredError, match="P1 or P2"):
        client.get("/auditLogs/signIns")


@pytest.mark.parametrize(
    ("response", "error"),
    [
        (graph_error(404, "Request_ResourceNotFound"), NotFoundError),
        (graph_error(400, "syncStateNotFound"), DeltaExpiredError),
        (graph_error(400, "resyncRequired"), DeltaExpiredError),
        (httpx.Response(410, headers={"Location": f"{GRAPH}/v1.0/users/delta?$deltatoken="}), DeltaExpiredError),
        (graph_error(400, "Request_BadRequest"), BadRequestError),
    ],
)
def test_client_errors_map_to_typed_errors_without_retry(make_client, response, error):
    handler = sequence(response)
    with pytest.raises(error):
        make_client(handler).get("/users/delta")
    assert len(handler.calls) == 1


def test_refuses_to_send_the_token_to_another_host(make_client):
    client = make_client(sequence(OK))
    with pytest.raises(ValueError, match="another host"):
        client.get("https://evil.example/v1.0/users?$skiptoken=x")


def test_counts_requests_and_bytes(make_client):
    handler = sequence(httpx.Response(200, json={"value": []}, headers={"x-ms-resource-unit": "1"}))
    client = make_client(handler)
    client.post("/users", json={"a": 1})
    stats = client.stats.as_dict()
    assert stats["requests"] == 1 and stats["bytes_sent"] == len(b'{"a":1}')
    assert stats["bytes_received"] == len(b'{"value":[]}') and stats["resource_units"] == 1  # the server's count


def test_count_segment_returns_plain_text(make_client):
    client = make_client(sequence(httpx.Response(200, text="42", headers={"Content-Type": "text/plain"})))
    assert client.get("/users/$count", headers={"ConsistencyLevel": "eventual"}) == "42"


def test_resource_units_are_estimated_when_the_server_does_not_say(make_client):
    client = make_client(sequence(OK))
    client.get("/users")
    client.get("/auditLogs/directoryAudits")  # outside the RU budget
    assert client.stats.resource_units == 2


def test_transient_token_failure_is_retried_but_tls_failure_is_not(make_client):
    from entrabackup.graph import GraphUnreachableError

    from .conftest import FakeTokens

    class FlakyTokens(FakeTokens):
        def __init__(self, error):
            super().__init__()
            self.error, self.calls = error, 0

        def token(self):
            self.calls += 1
            if self.calls == 1:
                raise self.error
            return super().token()

    dropped = GraphUnreachableError("Could not connect")
    dropped.transient = True
    assert make_client(sequence(OK), tokens=FlakyTokens(dropped)).get("/users/1") == {"id": "1"}
    with pytest.raises(GraphUnreachableError, match="TLS"):
        make_client(sequence(OK), tokens=FlakyTokens(GraphUnreachableError("TLS verification failed"))).get("/users/1")
