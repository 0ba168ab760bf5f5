"""Tenant credentials sealed before (`v1`, bound to their field only) are sealed again, bound to the
tenant's key and to its endpoint. One that cannot be opened (its key is missing) is left as it is and has
to be entered again on the tenant's page."""

import logging

from django.db import migrations

from entrabackup import vault

logger = logging.getLogger(__name__)
PURPOSE = "tenants.tenant.sealed_credential"
# The endpoint fields as of this migration (tenants.models.TENANT_ENDPOINT_FIELDS).
ENDPOINT_FIELDS = ("cloud", "directory_id", "authority_url", "graph_url", "ca_bundle_pem")


def bind_credentials(apps, schema_editor):
    Tenant = apps.get_model("tenants", "Tenant")
    for tenant in Tenant.objects.filter(sealed_credential__startswith=vault.LEGACY_VERSION + ":"):
        try:
            clear = vault.unseal_legacy(tenant.sealed_credential, purpose=PURPOSE)
        except vault.VaultError as exc:
            logger.warning("Tenant %s: its credential cannot be sealed again (%s)", tenant.name, exc)
            continue
        binding = vault.endpoint_binding(tenant.key, {f: getattr(tenant, f) for f in ENDPOINT_FIELDS})
        tenant.sealed_credential = vault.seal(clear, purpose=PURPOSE, binding=binding)
        tenant.save(update_fields=["sealed_credential"])


class Migration(migrations.Migration):

    dependencies = [
        ("tenants", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(bind_credentials, migrations.RunPython.noop),
    ]
