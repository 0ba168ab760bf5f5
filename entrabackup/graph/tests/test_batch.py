"""$batch chunking, dependsOn, and resending only the throttled sub-requests."""

import json

import httpx
import pytest

from .conftest import GRAPH


class BatchServer:
    """Answers $batch posts; ``throttle`` maps sub-request id -> how many times it gets 429 first."""

    def __init__(self, throttle=None, retry_after="1.5"):
        self.throttle = dict(throttle or {})
        self.retry_after = retry_after
        self.batches = []

    def __call__(self, request):
        assert str(request.url) == f"{GRAPH}/v1.0/$batch"
        subs = json.loads(request.content)["requests"]
        self.batches.append(subs)
        return httpx.Response(200, json={"responses": [self.answer(s, subs) for s in reversed(subs)]})

    def answer(self, sub, subs):
        if self.throttle.get(sub["id"], 0) > 0:
            self.throttle[sub["id"]] -= 1
            return {"id": sub["id"], "status": 429, "headers": {"Retry-After": self.retry_after}, "body": {}}
        return {"id": sub["id"], "status": 200, "headers": {"x-ms-resource-unit": "1"},
                "body": {"url": sub["url"], "method": sub["method"]}}


def test_batch_splits_into_chunks_of_20_and_returns_results_in_input_order(make_client):
    server = BatchServer()
    client = make_client(server)
    results = client.batch([{"method": "GET", "url": f"/users/{i}"} for i in range(45)])
    assert [len(b) for b in server.batches] == [20, 20, 5]
    assert [r["body"]["url"] for r in results] == [f"/users/{i}" for i in range(45)]
    assert client.stats.requests == 3 and client.stats.resource_units == 45


def test_only_throttled_sub_requests_are_resent_after_their_retry_after(make_client, sleeps):
    server = BatchServer(throttle={"2": 2, "5": 1}, retry_after="1.5")
    client = make_client(server)
    results = client.batch([{"id": str(i), "method": "GET", "url": f"/groups/{i}/members"} for i in range(1, 7)])
    assert [r["status"] for r in results] == [200] * 6
    assert [sorted(s["id"] for s in b) for b in server.batches] == [["1", "2", "3", "4", "5", "6"], ["2", "5"], ["2"]]
    assert sleeps.sleeps == [1.5, 1.5]
    assert client.stats.throttled_429 == 3 and client.stats.retries == 3


def test_batch_gives_back_the_429_after_max_retries(make_client):
    server = BatchServer(throttle={"1": 99})
    results = make_client(server, max_retries=2).batch([{"id": "1", "method": "GET", "url": "/users/1"}])
    assert results[0]["status"] == 429 and len(server.batches) == 3


def test_dependency_chains_stay_in_one_batch(make_client):
    server = BatchServer()
    requests = [{"id": f"a{i}", "method": "GET", "url": f"/users/{i}"} for i in range(15)]
    requests += [{"id": "p", "method": "POST", "url": "/groups", "body": {"displayName": "g"}}]
    requests += [{"id": f"m{i}", "method": "PATCH", "url": "/groups/x", "body": {}, "dependsOn": ["p"]} for i in range(6)]
    make_client(server).batch(requests)
    assert len(server.batches) == 2
    assert {s["id"] for s in server.batches[1]} == {"p", *(f"m{i}" for i in range(6))}
    post = next(s for s in server.batches[1] if s["id"] == "p")
    assert post["headers"]["Content-Type"] == "application/json"


def test_dependent_that_failed_424_is_resent_with_its_throttled_dependency(make_client):
    class Server(BatchServer):
        def answer(self, sub, subs):
            if sub["id"] == "b" and len(self.batches) == 1:
                return {"id": "b", "status": 424, "headers": {}, "body": {}}
            return super().answer(sub, subs)

    server = Server(throttle={"a": 1})
    results = make_client(server).batch([
        {"id": "a", "method": "POST", "url": "/groups", "body": {}},
        {"id": "b", "method": "POST", "url": "/groups/x/members/$ref", "body": {}, "dependsOn": ["a"]},
    ])
    assert [r["status"] for r in results] == [200, 200]
    assert [s.get("dependsOn") for s in server.batches[1]] == [None, ["a"]]


def test_batch_validates_ids_urls_and_chain_size(make_client):
    client = make_client(BatchServer())
    with pytest.raises(ValueError, match="unique"):
        client.batch([{"id": "1", "url": "/a"}, {"id": "1", "url": "/b"}])
    with pytest.raises(ValueError, match="relative"):
        client.batch([{"url": "https://elsewhere/v1.0/users"}])
    with pytest.raises(ValueError, match="does not fit"):
        client.batch([{"id": "0", "url": "/a"}] + [{"id": str(i), "url": "/a", "dependsOn": ["0"]} for i in range(1, 21)])


def test_absolute_urls_under_our_graph_are_made_relative(make_client):
    server = BatchServer()
    make_client(server).batch([{"url": f"{GRAPH}/v1.0/users/1"}])
    assert server.batches[0][0]["url"] == "/users/1"


def test_get_collections_batches_first_pages_and_follows_next_links(make_client):
    next_link = f"{GRAPH}/v1.0/groups/g2/members?$skiptoken=2"

    def handler(request):
        if str(request.url) == next_link:
            return httpx.Response(200, json={"value": [{"id": "u3"}]})
        subs = json.loads(request.content)["requests"]
        answers = {
            "/groups/g1/members?$select=id": {"status": 200, "body": {"value": [{"id": "u1"}]}},
            "/groups/g2/members?$select=id": {"status": 200, "body": {"value": [{"id": "u2"}], "@odata.nextLink": next_link}},
            "/groups/gone/members?$select=id": {"status": 404, "body": {"error": {"code": "Request_ResourceNotFound"}}},
        }
        return httpx.Response(200, json={"responses": [{"id": s["id"], "headers": {}, **answers[s["url"]]} for s in subs]})

    client = make_client(handler)
    paths = ["/groups/g1/members", "/groups/g2/members", "/groups/gone/members"]
    result = dict(client.get_collections(paths, params={"$select": "id"}))
    assert result == {"/groups/g1/members": [{"id": "u1"}], "/groups/g2/members": [{"id": "u2"}, {"id": "u3"}],
                      "/groups/gone/members": None}


def test_item_error_maps_sub_responses_to_typed_errors():
    from entrabackup.graph import PermissionDeniedError
    from entrabackup.graph.batch import item_error

    assert item_error({"status": 204}) is None
    error = item_error({"status": 403, "body": {"error": {"code": "Authorization_RequestDenied"}}}, "POST", "/users")
    assert isinstance(error, PermissionDeniedError) and error.needed == ["User.ReadWrite.All"]
