from django.db import migrations


def create_tick(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.get_or_create(
        name="entrabackup notifications",
        defaults={"func": "notifications.tasks.notifications_tick", "schedule_type": "I", "minutes": 1, "repeats": -1},
    )


def delete_tick(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name="entrabackup notifications").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]
    operations = [migrations.RunPython(create_tick, delete_tick)]
