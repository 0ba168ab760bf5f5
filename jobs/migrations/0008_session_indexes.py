"""Indexes of the Sessions page and the dashboard: sessions newest first, overall, per tenant and per status,
and a tenant's newest restore points. Numbered 0008 to leave room for the other slices' 0006/0007 (the
lead orders the dependencies at the merge)."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("jobs", "0005_log_index_chunks"),
    ]

    operations = [
        migrations.AddIndex(model_name="backupsession",
                            index=models.Index(fields=["-queued_at", "-id"], name="jobs_bs_queued_idx")),
        migrations.AddIndex(model_name="backupsession",
                            index=models.Index(fields=["tenant", "-queued_at", "-id"], name="jobs_bs_tenant_queued_idx")),
        migrations.AddIndex(model_name="backupsession",
                            index=models.Index(fields=["status", "-queued_at", "-id"], name="jobs_bs_status_queued_idx")),
        migrations.AddIndex(model_name="backupsession",
                            index=models.Index(fields=["tenant", "-queued_at", "-id"],
                                               condition=models.Q(restore_point_id__isnull=False),
                                               name="jobs_bs_tenant_points_idx")),
        migrations.AddIndex(model_name="logsession",
                            index=models.Index(fields=["-queued_at", "-id"], name="jobs_ls_queued_idx")),
        migrations.AddIndex(model_name="logsession",
                            index=models.Index(fields=["tenant", "-queued_at", "-id"], name="jobs_ls_tenant_queued_idx")),
        migrations.AddIndex(model_name="logsession",
                            index=models.Index(fields=["status", "-queued_at", "-id"], name="jobs_ls_status_queued_idx")),
    ]
