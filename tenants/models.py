import uuid

from django.db import models

from entrabackup import vault
from entrabackup.vault import SealedField

# The fields that say where a tenant's credential is sent. The sealed credential is bound to them, so they
# change only together with the credential (services.tenant_set_connection).
TENANT_ENDPOINT_FIELDS = ("cloud", "directory_id", "authority_url", "graph_url", "ca_bundle_pem")


class Tenant(models.Model):
    """A Microsoft Entra ID tenant registered for backup, with the app registration used to reach it."""

    class Cloud(models.TextChoices):
        GLOBAL = "global", "Global (login.microsoftonline.com)"
        USGOV = "usgov", "US Government L4 (GCC High)"
        USGOV_DOD = "usgov-dod", "US Government L5 (DoD)"
        CHINA = "china", "China (operated by 21Vianet)"
        CUSTOM = "custom", "Custom authority and Graph URLs"

    class CredentialType(models.TextChoices):
        SECRET = "secret", "Client secret"
        CERTIFICATE = "certificate", "Certificate"

    class Feature(models.TextChoices):
        DIRECTORY_BACKUP = "directory_backup", "Directory backup"
        LOG_BACKUP = "log_backup", "Audit and sign-in log backup"
        CONDITIONAL_ACCESS = "conditional_access", "Conditional Access backup"
        RESTORE = "restore", "Restore (writes to the tenant)"

    class CheckStatus(models.TextChoices):
        NEVER = "never", "Not tested"
        OK = "ok", "Ready"
        INCOMPLETE = "incomplete", "Permissions or licence missing"
        FAILED = "failed", "Cannot connect"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                           help_text="Stable identity of this tenant inside backup repositories")
    name = models.CharField(max_length=100, unique=True)
    directory_id = models.CharField("tenant ID", max_length=255, help_text="Directory (tenant) ID or a verified domain")
    cloud = models.CharField(max_length=20, choices=Cloud.choices, default=Cloud.GLOBAL)
    authority_url = models.URLField("authority URL", blank=True, help_text="Custom cloud only, without the tenant")
    graph_url = models.URLField("Graph URL", blank=True, help_text="Custom cloud only, without the version")
    ca_bundle_pem = models.TextField("CA bundle", blank=True, help_text="PEM certificates to trust (custom cloud)")
    client_id = models.UUIDField("application (client) ID")
    features = models.JSONField(default=list, help_text="What this tenant is used for; the connection test checks these")
    credential_type = models.CharField(max_length=20, choices=CredentialType.choices)
    sealed_credential = SealedField(help_text="The client secret or the certificate's private key, sealed")
    certificate_pem = models.TextField(blank=True, help_text="Public certificate (certificate credential)")
    certificate_thumbprint = models.CharField(max_length=64, blank=True, help_text="SHA-1, as Entra shows it")
    credential_expires_at = models.DateTimeField(null=True, blank=True)
    credential_updated_at = models.DateTimeField()
    check_status = models.CharField(max_length=20, choices=CheckStatus.choices, default=CheckStatus.NEVER)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_report = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        permissions = [("test_connection", "Can test a tenant's connection"),
                       ("change_credential", "Can replace a tenant's credential")]
        constraints = [
            models.UniqueConstraint(
                models.functions.Lower("directory_id"), "cloud", name="tenant_unique_directory_per_cloud"
            ),
            models.CheckConstraint(
                condition=~models.Q(cloud="custom") | (~models.Q(authority_url="") & ~models.Q(graph_url="")),
                name="tenant_custom_cloud_has_urls",
            ),
        ]

    def __str__(self):
        return self.name

    def vault_binding(self) -> str:
        """What the sealed credential is bound to: this tenant (its key) and the endpoint it is sent to."""
        return vault.endpoint_binding(self.key, {name: getattr(self, name) for name in TENANT_ENDPOINT_FIELDS})
