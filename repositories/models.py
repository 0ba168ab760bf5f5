from django.db import models

from entrabackup.vault import SealedField


class Repository(models.Model):
    """An Entra ID backup repository: a PostgreSQL database holding restore points of one or more tenants.

    Local repositories are databases on the project's own PostgreSQL (var/pg/); remote ones are reached by
    host, port and a password sealed like a tenant secret. The data itself lives there, not in this table.
    """

    class Kind(models.TextChoices):
        LOCAL = "local", "Local (the project's PostgreSQL)"
        REMOTE = "remote", "Remote PostgreSQL"

    class SslMode(models.TextChoices):
        DISABLE = "disable", "disable"
        PREFER = "prefer", "prefer"
        REQUIRE = "require", "require (encrypted, server not verified)"
        VERIFY_CA = "verify-ca", "verify-ca"
        VERIFY_FULL = "verify-full", "verify-full (encrypted, server verified)"

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
        ]

    def __str__(self):
        return self.name

    @property
    def location(self) -> str:
        if self.kind == self.Kind.LOCAL:
            return f"local database {self.database}"
        return f"{self.user}@{self.host}:{self.port or 5432}/{self.database}"
