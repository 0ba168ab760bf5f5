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
    enabled = models.BooleanField(default=True, help_text="Disabled: no job writing here is scheduled; its data is kept")
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


# The fields that say where a log repository is. Its sealed secret access key and password are bound to
# them, so they change only together with those secrets.
LOG_REPOSITORY_ENDPOINT_FIELDS = ("kind", "path", "endpoint_url", "bucket", "prefix", "region", "access_key_id",
                                  "path_style")


class LogRepository(models.Model):
    """A log backup repository: a directory or an S3 bucket holding audit and sign-in log chunks.

    The chunks live there (repositories.logstore), not in this table. The S3 secret access key and the
    encryption password are sealed like tenant secrets; proxies open them unattended.
    """

    class Kind(models.TextChoices):
        DIRECTORY = "directory", "Directory (local or mounted)"
        S3 = "s3", "S3-compatible object storage"

    class Encryption(models.TextChoices):
        NONE = "none", "None"
        PASSWORD = "password", "Password (AES-256-GCM, scrypt)"

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                           help_text="Stable identity of this repository; its sealed secrets are bound to it")
    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.DIRECTORY)
    path = models.CharField(max_length=1000, blank=True, help_text="Directory kind: inside the allowed roots")
    endpoint_url = models.CharField("endpoint", max_length=500, blank=True)
    bucket = models.CharField(max_length=63, blank=True)
    prefix = models.CharField(max_length=200, blank=True)
    region = models.CharField(max_length=40, blank=True)
    access_key_id = models.CharField("access key id", max_length=128, blank=True)
    sealed_secret_access_key = SealedField(blank=True)
    path_style = models.BooleanField("path-style addressing", default=False)
    object_lock_days = models.PositiveIntegerField(null=True, blank=True,
                                                   help_text="Keep every chunk in COMPLIANCE mode this many days")
    retention_days = models.PositiveIntegerField(default=365)
    encryption = models.CharField(max_length=10, choices=Encryption.choices, default=Encryption.NONE)
    sealed_password = SealedField(blank=True)
    password_hint = models.CharField(max_length=200, blank=True)
    enabled = models.BooleanField(default=True, help_text="Disabled: no log job writing here is scheduled; its chunks are kept")
    key_id = models.CharField(max_length=32, blank=True, help_text="Id of the repository's master key")
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True)
    check_summary = models.TextField(blank=True)
    usage_bytes = models.BigIntegerField(null=True, blank=True)
    free_bytes = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "log repositories"
        permissions = [("check_logrepository", "Can run a health check of a log repository")]
        constraints = [
            models.CheckConstraint(condition=models.Q(kind="s3") | ~models.Q(path=""), name="logrepository_directory_has_path"),
            models.CheckConstraint(condition=models.Q(kind="directory") | ~models.Q(bucket=""), name="logrepository_s3_has_bucket"),
            models.CheckConstraint(condition=models.Q(encryption="none") | ~models.Q(sealed_password=""),
                                   name="logrepository_password_sealed"),
        ]

    def __str__(self):
        return self.name

    def vault_binding(self) -> str:
        """What the sealed secrets are bound to: this repository (its key) and where it is."""
        return vault.endpoint_binding(self.key, {name: getattr(self, name) for name in LOG_REPOSITORY_ENDPOINT_FIELDS})

    @property
    def location(self) -> str:
        if self.kind == self.Kind.DIRECTORY:
            return self.path
        where = f"s3://{self.bucket}/{self.prefix}".rstrip("/")
        return f"{where} at {self.endpoint_url}" if self.endpoint_url else where


class LogChainHead(models.Model):
    """The newest manifest of one chain of a log repository (a tenant's log type): its number and sha-256.

    Recorded here, outside the repository, by the writer right after it stores the manifest
    (repositories.log_services.DatabaseChainHeads), so the health check finds the newest chunks removed
    together with their manifests, which the chain alone cannot show. The conditional update that moves it
    also refuses a second writer of the same chain.
    """

    repository = models.ForeignKey(LogRepository, on_delete=models.CASCADE, related_name="chain_heads")
    tenant = models.CharField(max_length=64, help_text="The tenant's folder in the log repository")
    log_type = models.CharField(max_length=64)
    n = models.PositiveBigIntegerField("number", help_text="The newest manifest's place in the chain")
    manifest_hash = models.CharField(max_length=64, help_text="sha-256 of the newest manifest as stored")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint("repository", "tenant", "log_type", name="logchainhead_one_per_chain")]

    def __str__(self):
        return f"{self.repository} {self.tenant}/{self.log_type} #{self.n}"
