import uuid

from django.db import models
from django.db.models.functions import Coalesce, Lower

from entrabackup import vault
from entrabackup.vault import SealedField

# The fields that say where a repository's password is sent. The sealed password is bound to them, so they
# change only together with the password (services.repository_set_connection).
REPOSITORY_ENDPOINT_FIELDS = ("kind", "host", "port", "user", "database", "sslmode", "ssl_root_cert_pem")


class Repository(models.Model):
    """An Entra ID backup repository: a PostgreSQL database holding restore points of one or more tenants.

    Local repositories are databases on the project's own PostgreSQL (var/pg/); remote ones are reached by
    host, port and a password sealed like a tenant secret. The data itself lives there, not in this table.
    """

    class Kind(models.TextChoices):
        LOCAL = "local", "Local (the project's PostgreSQL)"
        REMOTE = "remote", "Remote PostgreSQL"

    class SslMode(models.TextChoices):
        # Only modes that verify the server over TCP; no TLS only on a Unix socket (services check which).
        DISABLE = "disable", "disable (Unix socket only)"
        VERIFY_CA = "verify-ca", "verify-ca (encrypted, server's CA verified)"
        VERIFY_FULL = "verify-full", "verify-full (encrypted, server's CA and name verified)"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                           help_text="Stable identity of this repository; its sealed password is bound to it")
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.LOCAL)
    database = models.CharField(max_length=63)
    host = models.CharField(max_length=255, blank=True)
    port = models.PositiveIntegerField(null=True, blank=True)
    user = models.CharField(max_length=63, blank=True)
    sealed_password = SealedField(blank=True)
    sslmode = models.CharField("TLS mode", max_length=12, choices=SslMode.choices, default=SslMode.VERIFY_FULL)
    ssl_root_cert_pem = models.TextField("CA certificate", blank=True, help_text="PEM, to verify the server")
    schema_version = models.PositiveIntegerField(null=True, blank=True)
    server_version = models.CharField(max_length=40, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "repositories"
        constraints = [
            models.CheckConstraint(condition=models.Q(kind="local") | ~models.Q(host=""), name="repository_remote_has_host"),
            models.UniqueConstraint(Lower("host"), Coalesce("port", 5432, output_field=models.IntegerField()), "database",
                                    name="repository_unique_database"),
        ]

    def __str__(self):
        return self.name

    def vault_binding(self) -> str:
        """What the sealed password is bound to: this repository (its key) and the server it is sent to."""
        return vault.endpoint_binding(self.key, {name: getattr(self, name) for name in REPOSITORY_ENDPOINT_FIELDS})

    @property
    def location(self) -> str:
        if self.kind == self.Kind.LOCAL:
            return f"local database {self.database}"
        return f"{self.user}@{self.host}:{self.port or 5432}/{self.database}"
