import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

ACTIONS = [
    ("restore_point.delete", "Delete restore points"),
    ("repository.delete", "Delete a repository (directory or log)"),
    ("retention.lower", "Lower a retention"),
    ("encryption.off", "Turn encryption off or change its password"),
    ("restore.apply_large", "Apply a large restore"),
]


def create_switches(apps, schema_editor):
    """One switch per action, off: four-eyes approval is chosen, not imposed on an upgrade."""
    switch = apps.get_model("approvals", "ApprovalSwitch")
    for action, _ in ACTIONS:
        switch.objects.get_or_create(action=action)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("tenants", "0002_bind_secrets_to_endpoint"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ApprovalSwitch",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("action", models.CharField(choices=ACTIONS, max_length=40, unique=True)),
                ("enabled", models.BooleanField(default=False)),
                ("min_writes", models.PositiveIntegerField(blank=True, help_text="Large restores only: a plan with at least this many writes waits", null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("updated_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
            ],
            options={
                "ordering": ["action"],
                "permissions": [("decide_approval", "Can approve or deny four-eyes requests and change their switches")],
            },
        ),
        migrations.CreateModel(
            name="ApprovalRequest",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("action", models.CharField(db_index=True, max_length=40)),
                ("summary", models.CharField(max_length=500)),
                ("params", models.JSONField(default=dict, help_text="What the registered executor receives")),
                ("target_state", models.CharField(blank=True, help_text="Digest of the target when asked; a different one at approval is stale", max_length=64)),
                ("status", models.CharField(choices=[("pending", "Waiting for approval"), ("running", "Approved, running"), ("done", "Approved and done"), ("failed", "Approved, but it failed"), ("denied", "Denied"), ("expired", "Expired"), ("stale", "Refused: its target changed"), ("withdrawn", "Withdrawn by the requester")], db_index=True, default="pending", max_length=10)),
                ("requested_at", models.DateTimeField(auto_now_add=True)),
                ("expires_at", models.DateTimeField()),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("note", models.TextField(blank=True, help_text="The decider's note")),
                ("result", models.TextField(blank=True, help_text="What the action did, or why it failed")),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("decided_by", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("requested_by", models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL)),
                ("tenant", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name="approval_requests", to="tenants.tenant")),
            ],
            options={
                "ordering": ["-requested_at"],
            },
        ),
        migrations.RunPython(create_switches, migrations.RunPython.noop),
    ]
