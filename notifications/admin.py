from django.contrib import admin

from accounts.access import TenantScopedAdmin
from notifications.models import Channel, Delivery, NotificationSettings


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "enabled", "url")
    exclude = ("sealed_secret",)  # set on the Notifications page, where it is sealed


@admin.register(Delivery)
class DeliveryAdmin(TenantScopedAdmin, admin.ModelAdmin):
    list_display = ("created_at", "event", "channel", "subject", "status", "attempts", "last_error")
    list_filter = ("status", "event", "channel")
    readonly_fields = [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False  # deliveries are what was sent


admin.site.register(NotificationSettings)
