"""django-q2 entry points of notifications, run by the backup proxies."""

from notifications import services


def deliver(delivery_id: int) -> str | None:
    """Send one delivery (a no-op when it is not due or another worker has it)."""
    delivery = services.delivery_send(delivery_id)
    return delivery.status if delivery else None


def notifications_tick() -> dict:
    """Every minute (a django-q2 schedule): overdue schedules, expiring credentials, retries due."""
    return services.notifications_tick()
