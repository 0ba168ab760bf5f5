"""Reads shared by the jobs pages."""

from dataclasses import dataclass

from django_q.status import Stat


@dataclass(frozen=True)
class ProxyStatus:
    """One running backup proxy (a django-q2 cluster) as it reports itself through the cache."""

    host: str
    cluster_id: str
    status: str
    workers: int
    uptime_seconds: float


def proxies_running() -> list[ProxyStatus]:
    """The clusters that reported within the last few seconds (django-q2 keeps these in the cache)."""
    return [
        ProxyStatus(
            host=stat.host,
            cluster_id=str(stat.cluster_id),
            status=stat.status,
            workers=len(stat.workers),
            uptime_seconds=stat.uptime(),
        )
        for stat in Stat.get_all()
    ]
