"""Paging by nextLink, full-property listing, delta rounds and the expired-link fallback."""

from urllib.parse import parse_qs

import httpx
import pytest

from entrabackup.graph import DeltaExpiredError, GraphError, select_for

from .conftest import GRAPH, graph_error, page


def pages_handler(pages_by_url):
    seen = []

    def handler(request):
        seen.append((str(request.url), request.headers.get("ConsistencyLevel")))
        url = str(request.url)
        answer = pages_by_url.get(url) or pages_by_url[url.split("?")[0]]  # first pages carry our own query
        return answer if isinstance(answer, httpx.Response) else httpx.Response(200, json=answer)

    handler.seen = seen
    return handler


def test_iter_values_follows_next_links_verbatim_and_resends_headers(make_client):
    link2 = f"{GRAPH}/v1.0/users?$skiptoken=A%2Fb&$count=true"
    link3 = f"{GRAPH}/v1.0/users?$skiptoken=C"
    handler = pages_handler({
        f"{GRAPH}/v1.0/users": page([{"id": "1"}], link2, **{"@odata.count": 3}),
        link2: page([], link3),  # empty page with a nextLink is legal
        link3: page([{"id": "2"}, {"id": "3"}]),
    })
    client = make_client(handler)
    ids = [u["id"] for u in client.iter_values("/users", {"$count": "true"}, {"ConsistencyLevel": "eventual"})]
    assert ids == ["1", "2", "3"]
    assert [url for url, _ in handler.seen[1:]] == [link2, link3]
    assert all(level == "eventual" for _, level in handler.seen)


def test_repeated_next_link_is_an_error_not_an_endless_loop(make_client):
    link = f"{GRAPH}/v1.0/users?$skiptoken=same"
    handler = pages_handler({f"{GRAPH}/v1.0/users": page([], link), link: page([], link)})
    with pytest.raises(GraphError, match="repeated"):
        list(make_client(handler).iter_values("/users"))


def test_list_all_selects_every_collection_property_with_top_999(make_client):
    handler = pages_handler({f"{GRAPH}/v1.0/users": page([{"id": "1"}])})
    assert list(make_client(handler).list_all("user")) == [{"id": "1"}]
    query = parse_qs(handler.seen[0][0].split("?", 1)[1])
    selected = query["$select"][0].split(",")
    assert query["$top"] == ["999"]
    assert selected == select_for("user") and "accountEnabled" in selected and "aboutMe" not in selected


def delta_handler(expired=False, status=400):
    first = f"{GRAPH}/v1.0/users/delta"
    next_link = f"{GRAPH}/v1.0/users/delta?$skiptoken=p2"
    delta_link = f"{GRAPH}/v1.0/users/delta?$deltatoken=new"
    old_link = f"{GRAPH}/v1.0/users/delta?$deltatoken=old"
    answers = {
        first: page([{"id": "1"}], next_link),
        next_link: {"value": [{"id": "2", "@removed": {"reason": "changed"}}], "@odata.deltaLink": delta_link},
        old_link: graph_error(400, "syncStateNotFound") if status == 400 else httpx.Response(410),
    }
    if not expired:
        answers[old_link] = {"value": [{"id": "9"}], "@odata.deltaLink": delta_link}
    return pages_handler(answers), old_link, delta_link


def test_delta_round_reads_pages_until_the_delta_link(make_client):
    handler, _, delta_link = delta_handler()
    round_ = make_client(handler).delta("/users", select=["id", "displayName"])
    with pytest.raises(RuntimeError):
        _ = round_.delta_link
    assert [o["id"] for o in round_.values()] == ["1", "2"]
    assert round_.delta_link == delta_link and not round_.resynced
    assert "$select=id,displayName" in handler.seen[0][0]
    assert handler.seen[1][0] == f"{GRAPH}/v1.0/users/delta?$skiptoken=p2"  # nextLink sent verbatim


def test_saved_delta_link_gives_only_changes(make_client):
    handler, old_link, _ = delta_handler()
    assert [o["id"] for o in make_client(handler).delta("/users/delta", delta_link=old_link).values()] == ["9"]


@pytest.mark.parametrize("status", [400, 410])
def test_expired_delta_link_raises_delta_expired(make_client, status):
    handler, old_link, _ = delta_handler(expired=True, status=status)
    with pytest.raises(DeltaExpiredError):
        list(make_client(handler).delta("/users", delta_link=old_link))


@pytest.mark.parametrize("status", [400, 410])
def test_delta_or_full_falls_back_to_a_full_initial_round(make_client, status):
    handler, old_link, delta_link = delta_handler(expired=True, status=status)
    round_ = make_client(handler).delta_or_full("/users", delta_link=old_link, select=["id"])
    assert [o["id"] for o in round_.values()] == ["1", "2"]
    assert round_.resynced and round_.delta_link == delta_link
    assert handler.seen[1][0].endswith("/users/delta?$select=id")


def test_delta_page_without_any_link_is_an_error(make_client):
    handler = pages_handler({f"{GRAPH}/v1.0/groups/delta": {"value": []}})
    with pytest.raises(GraphError, match="neither"):
        list(make_client(handler).delta("/groups"))


def test_list_all_of_a_singleton_yields_the_entity(make_client):
    policy = {"id": "authenticationMethodsPolicy", "authenticationMethodConfigurations": []}
    handler = pages_handler({f"{GRAPH}/v1.0/policies/authenticationMethodsPolicy": policy})
    assert list(make_client(handler).list_all("authenticationMethodsPolicy")) == [policy]


def test_delta_link_of_another_endpoint_gets_a_full_round_and_never_the_token(make_client):
    handler, _, delta_link = delta_handler()
    moved = "https://graph.old-address.example:8443/v1.0/users/delta?$deltatoken=old"
    round_ = make_client(handler).delta_or_full("/users", delta_link=moved, select=["id"])
    assert [o["id"] for o in round_.values()] == ["1", "2"]
    assert round_.resynced and "another Graph endpoint" in round_.resync_reason
    assert all(url.startswith(GRAPH + "/") for url, _ in handler.seen)  # nothing went to the old address
    with pytest.raises(ValueError, match="another host"):  # without the fallback the guard still refuses
        list(make_client(handler).delta("/users", delta_link=moved))
