"""A bug in a handler still answers like the service: a 500 with a Graph error body, not a dropped connection."""

from graph_emulator import pipeline


def test_an_unexpected_exception_answers_500_with_an_error_envelope(shared, monkeypatch):
    def boom(*args, **kwargs):
        raise KeyError("emulator bug")

    monkeypatch.setattr(pipeline, "graph_request", boom)
    response = shared.get("/v1.0/users")
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["code"] == "UnknownError" and "request-id" in error["innerError"]


def test_each_response_has_one_date_header(shared):
    response = shared.get("/v1.0/users?$top=1")
    assert len(response.headers.get_list("date")) == 1
