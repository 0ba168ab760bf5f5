from notifications.models import Delivery


def recent_deliveries(limit: int = 50):
    """The newest deliveries with their channel and tenant (the Notifications page)."""
    return Delivery.objects.select_related("channel", "tenant")[:limit]
