"""Repositories get a stable key; their sealed passwords are bound to it and to their endpoint.

TLS modes that do not verify the server (prefer, require) are gone: a repository on a Unix socket gets
`disable` (TLS is never used there), one over TCP gets `verify-full`. Passwords sealed before (`v1`) are
sealed again with the new binding; one that cannot be opened (its key is missing) is left as it is and has
to be entered again on the Repositories page.
"""

import logging
import uuid

import django.db.models.functions.comparison
import django.db.models.functions.text
from django.db import migrations, models

from entrabackup import vault

logger = logging.getLogger(__name__)
PURPOSE = "repositories.repository.sealed_password"
# The endpoint fields as of this migration (repositories.models.REPOSITORY_ENDPOINT_FIELDS).
ENDPOINT_FIELDS = ("kind", "host", "port", "user", "database", "sslmode", "ssl_root_cert_pem")


def fill_keys(apps, schema_editor):
    Repository = apps.get_model("repositories", "Repository")
    for repository in Repository.objects.filter(key__isnull=True):
        repository.key = uuid.uuid4()
        repository.save(update_fields=["key"])


def bind_and_verify(apps, schema_editor):
    Repository = apps.get_model("repositories", "Repository")
    for repository in Repository.objects.all():
        if repository.sslmode in ("prefer", "require"):
            repository.sslmode = "disable" if repository.host.startswith("/") else "verify-full"
        if repository.sealed_password.startswith(vault.LEGACY_VERSION + ":"):
            try:
                clear = vault.unseal_legacy(repository.sealed_password, purpose=PURPOSE)
            except vault.VaultError as exc:
                logger.warning("Repository %s: its password cannot be sealed again (%s)", repository.name, exc)
            else:
                binding = vault.endpoint_binding(repository.key, {f: getattr(repository, f) for f in ENDPOINT_FIELDS})
                repository.sealed_password = vault.seal(clear, purpose=PURPOSE, binding=binding)
        repository.save(update_fields=["sslmode", "sealed_password"])


class Migration(migrations.Migration):

    dependencies = [
        ("repositories", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="repository",
            name="key",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_keys, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="repository",
            name="key",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True,
                                   help_text="Stable identity of this repository; its sealed password is bound to it"),
        ),
        migrations.RunPython(bind_and_verify, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="repository",
            name="sslmode",
            field=models.CharField(
                choices=[("disable", "disable (Unix socket only)"),
                         ("verify-ca", "verify-ca (encrypted, server's CA verified)"),
                         ("verify-full", "verify-full (encrypted, server's CA and name verified)")],
                default="verify-full", max_length=12, verbose_name="TLS mode"),
        ),
        migrations.AddConstraint(
            model_name="repository",
            constraint=models.UniqueConstraint(
                django.db.models.functions.text.Lower("host"),
                django.db.models.functions.comparison.Coalesce("port", 5432, output_field=models.IntegerField()),
                "database", name="repository_unique_database"),
        ),
    ]
