"""Delta rounds: pages until ``@odata.deltaLink``, with a fallback to a full read when the link expired.

https://learn.microsoft.com/graph/delta-query-overview : follow ``@odata.nextLink`` until a page carries
``@odata.deltaLink`` (never both); save the delta link for the next round. An expired link answers
400 ``syncStateNotFound`` (tokens live 7 days for directory objects) or 410 Gone (resync required).
A fresh initial round returns every current object, so it doubles as the full read after expiry.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

from .errors import DeltaExpiredError, GraphError

if TYPE_CHECKING:
    from .requester import Requester

logger = logging.getLogger(__name__)


class DeltaRound:
    """An iterable of delta pages. After exhaustion ``delta_link`` holds the link to save.

    ``resynced`` is True when the saved link had expired, or names another Graph endpoint than the client's,
    and the round restarted as a full initial round (``resync_reason`` says which):
    the caller must then treat the result as a full read (objects not seen are gone).
    """

    def __init__(
        self,
        requester: Requester,
        path: str,
        *,
        delta_link: str | None = None,
        params: dict | None = None,
        headers: dict | None = None,
        fallback: bool = False,
    ) -> None:
        self._requester = requester
        self._path = _delta_path(path)
        self._params = dict(params or {})
        self._headers = dict(headers or {})
        self._start_link = delta_link
        self._fallback = fallback
        self._delta_link: str | None = None
        self._started = False
        self.resynced = False
        self.resync_reason = ""
        self.pages = 0

    @property
    def delta_link(self) -> str:
        """The ``@odata.deltaLink`` of the last page; only available once every page was read."""
        if self._delta_link is None:
            raise RuntimeError("The delta round has not been read to the end yet.")
        return self._delta_link

    def __iter__(self) -> Iterator[dict]:
        if self._started:
            raise RuntimeError("A delta round can be iterated only once.")
        self._started = True
        page = self._first_page()
        while True:
            self.pages += 1
            yield page
            if "@odata.deltaLink" in page:
                self._delta_link = page["@odata.deltaLink"]
                return
            next_link = page.get("@odata.nextLink")
            if not next_link:
                raise GraphError(f"Delta page of {self._path} has neither nextLink nor deltaLink.")
            page = self._get(next_link, None)

    def values(self) -> Iterator[dict]:
        """The changed objects (and ``@removed`` stubs) of every page."""
        for page in self:
            yield from page.get("value", ())

    def _first_page(self) -> dict:
        if self._start_link is None:
            return self._get(self._path, self._params)
        if self._fallback and not self._requester.is_graph_url(self._start_link):
            # Saved against another endpoint (the tenant's Graph URL changed): the token must not follow it,
            # and a round started afresh on the current endpoint is complete anyway.
            return self._resync("The saved delta link names another Graph endpoint than the tenant's")
        try:
            return self._get(self._start_link, None)
        except DeltaExpiredError:
            if not self._fallback:
                raise
            return self._resync("The saved delta link had expired or Graph asked for a resync")

    def _resync(self, reason: str) -> dict:
        logger.warning("%s (%s); falling back to a full read", reason, self._path)
        self.resynced, self.resync_reason = True, reason
        return self._get(self._path, self._params)

    def _get(self, url: str, params: dict | None) -> dict:
        body = self._requester.request("GET", url, params=params, headers=self._headers).body
        if not isinstance(body, dict):
            raise GraphError(f"Delta page of {self._path} is not a JSON object.")
        return body


def _delta_path(path: str) -> str:
    stripped = path.rstrip("/")
    last = stripped.rsplit("/", 1)[-1]
    return stripped if last in ("delta", "microsoft.graph.delta") else f"{stripped}/delta"
