from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("repositories", "0004_log_chain_head")]

    operations = [
        migrations.AddField(
            model_name="repository", name="enabled",
            field=models.BooleanField(default=True, help_text="Disabled: no job writing here is scheduled; its data is kept"),
        ),
        migrations.AddField(
            model_name="logrepository", name="enabled",
            field=models.BooleanField(default=True,
                                      help_text="Disabled: no log job writing here is scheduled; its chunks are kept"),
        ),
    ]
