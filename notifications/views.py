from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import ChannelForm, SettingsForm
from notifications.models import Channel, NotificationSettings


@permission_required("notifications.view_channel", raise_exception=True)
def channel_list(request):
    form = SettingsForm(instance=NotificationSettings.current())
    return render(request, "notifications/channel_list.html", {
        "channels": Channel.objects.all(), "settings_form": form, "deliveries": selectors.recent_deliveries()})


@permission_required("notifications.change_channel", raise_exception=True)
def channel_edit(request, pk=None):
    channel = get_object_or_404(Channel, pk=pk) if pk else None
    initial = {"name": channel.name, "kind": channel.kind, "recipients": channel.recipients, "url": channel.url,
               "events": channel.events, "enabled": channel.enabled} if channel else None
    form = ChannelForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.channel_save(channel=channel, **form.cleaned_data)
        except services.ChannelError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Channel '{saved.name}' saved.")
            return redirect("notifications:channel_list")
    return render(request, "notifications/channel_edit.html", {"form": form, "channel": channel})


@require_POST
@permission_required("notifications.change_notificationsettings", raise_exception=True)
def settings_update(request):
    form = SettingsForm(request.POST, instance=NotificationSettings.current())
    if form.is_valid():
        services.settings_save(**form.cleaned_data)
        messages.success(request, "Thresholds saved.")
    else:
        messages.error(request, "Thresholds not saved: " + "; ".join(m for e in form.errors.values() for m in e))
    return redirect("notifications:channel_list")


@require_POST
@permission_required("notifications.test_channel", raise_exception=True)
def channel_test(request, pk):
    delivery = services.channel_test(get_object_or_404(Channel, pk=pk))
    if delivery.status == delivery.Status.SENT:
        messages.success(request, f"Test message sent to '{delivery.channel.name}'.")
    else:
        messages.error(request, f"Test message to '{delivery.channel.name}' failed: {delivery.last_error}")
    return redirect("notifications:channel_list")
