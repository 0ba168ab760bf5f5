from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("tenants", "0003_change_credential_permission")]

    operations = [
        migrations.AddField(
            model_name="tenant", name="enabled",
            field=models.BooleanField(default=True, help_text="Disabled: none of its jobs is scheduled; its backups are kept"),
        ),
    ]
