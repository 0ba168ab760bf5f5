from django import forms

from repositories.models import LogRepository, Repository

MAX_CERT = 256 * 1024
HOST_HELP = "Remote only: one host name or IP address (TLS verify-ca/verify-full), or a Unix socket directory starting with /"


class ConnectionFields(forms.Form):
    """Where a repository's password is sent; the rules themselves are the services' (same errors)."""

    database = forms.CharField(max_length=63, help_text="Database name (a local one is created for you)")
    host = forms.CharField(required=False, max_length=255, help_text=HOST_HELP)
    port = forms.IntegerField(required=False, min_value=1, max_value=65535, help_text="Remote only (default 5432)")
    user = forms.CharField(required=False, max_length=63, help_text="Remote only: needs to create tables in that database")
    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False),
                               help_text="Remote only: sent by SCRAM only, sealed at rest, never shown again")
    sslmode = forms.ChoiceField(choices=Repository.SslMode.choices, initial=Repository.SslMode.VERIFY_FULL, label="TLS mode",
                                help_text="Over TCP the server is verified (verify-full without a CA certificate trusts "
                                          "the system's CAs); disable only for a Unix socket")
    ssl_root_cert = forms.FileField(required=False, label="CA certificate", help_text="PEM, to verify the server")

    def clean_ssl_root_cert(self):
        upload = self.cleaned_data.get("ssl_root_cert")
        if upload is None:
            return ""
        if upload.size > MAX_CERT:
            raise forms.ValidationError("That file is too large to be a CA certificate.")
        return upload.read().decode("ascii", errors="replace")

    def connection(self) -> dict:
        """Keyword arguments for services.repository_add / repository_set_connection."""
        data = self.cleaned_data
        return {"database": data["database"], "host": data["host"], "port": data["port"], "user": data["user"],
                "password": data["password"], "sslmode": data["sslmode"], "ssl_root_cert_pem": data["ssl_root_cert"]}


class RepositoryForm(ConnectionFields):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Repository.Kind.choices, initial=Repository.Kind.REMOTE)

    field_order = ["name", "kind"]


class RepositoryConnectionForm(ConnectionFields):
    """Changing the connection of a repository: the password is entered again (remote over TCP)."""

    def __init__(self, *args, repository: Repository, **kwargs):
        initial = {"database": repository.database, "host": repository.host, "port": repository.port,
                   "user": repository.user, "sslmode": repository.sslmode}
        super().__init__(*args, initial=initial, **kwargs)
        self.repository = repository
        if repository.kind == Repository.Kind.LOCAL:
            for name in ["host", "port", "user", "password", "sslmode", "ssl_root_cert"]:
                del self.fields[name]

    def clean(self):
        data = super().clean()
        host = data.get("host") or ""
        if self.repository.kind == Repository.Kind.REMOTE and not host.startswith("/") and not data.get("password"):
            self.add_error("password", "Enter the password again: it is sealed for the server it was entered for.")
        return data

    def connection(self) -> dict:
        if self.repository.kind == Repository.Kind.LOCAL:
            return {"database": self.cleaned_data["database"], "host": "", "port": None, "user": "", "password": "",
                    "sslmode": self.repository.sslmode, "ssl_root_cert_pem": ""}
        connection = super().connection()
        if not connection["ssl_root_cert_pem"] and connection["host"] == self.repository.host:
            connection["ssl_root_cert_pem"] = self.repository.ssl_root_cert_pem  # same server: keep its CA
        return connection


class LogRepositoryForm(forms.Form):
    """A log backup repository; the rules (allowed roots, bucket names, checks) are the services'."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=LogRepository.Kind.choices, initial=LogRepository.Kind.DIRECTORY)
    path = forms.CharField(required=False, max_length=1000,
                           help_text="Directory kind: a directory inside the allowed roots (relative paths go inside the first)")
    endpoint_url = forms.URLField(required=False, label="Endpoint", assume_scheme="https",
                                  help_text="S3 kind: https://… (empty for AWS itself)")
    bucket = forms.CharField(required=False, max_length=63)
    prefix = forms.CharField(required=False, max_length=200)
    region = forms.CharField(required=False, max_length=40)
    access_key_id = forms.CharField(required=False, max_length=128, label="Access key id")
    secret_access_key = forms.CharField(required=False, strip=False, label="Secret access key",
                                        widget=forms.PasswordInput(render_value=False),
                                        help_text="Sealed at rest, never shown again")
    path_style = forms.BooleanField(required=False, label="Path-style addressing")
    object_lock_days = forms.IntegerField(required=False, min_value=1, max_value=36500, label="Object lock days",
                                          help_text="S3 kind: keep every chunk in COMPLIANCE mode this long (the bucket needs object lock)")
    retention_days = forms.IntegerField(min_value=1, max_value=36500, initial=365)
    encrypt = forms.BooleanField(required=False, label="Encrypt with a password")
    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False),
                               help_text="At least 8 characters")
    password_again = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False))
    password_hint = forms.CharField(required=False, max_length=200, help_text="Optional; shown to administrators")
    lost_password_understood = forms.BooleanField(
        required=False, label="I understand that a lost password cannot be recovered: without it these logs cannot be read")

    ENCRYPTION_FIELDS = ["encrypt", "password", "password_again", "password_hint", "lost_password_understood"]

    def location_fields(self):
        return [self[name] for name in self.fields if name not in self.ENCRYPTION_FIELDS]

    def encryption_fields(self):
        return [self[name] for name in self.ENCRYPTION_FIELDS]

    def clean(self):
        data = super().clean()
        if data.get("encrypt"):
            if data.get("password") != data.get("password_again"):
                self.add_error("password_again", "The two passwords differ.")
            if not data.get("lost_password_understood"):
                self.add_error("lost_password_understood", "Confirm that you keep the password safe.")
        return data

    def repository(self) -> dict:
        """Keyword arguments for services.log_repository_add."""
        data = self.cleaned_data
        fields = ["name", "kind", "path", "endpoint_url", "bucket", "prefix", "region", "access_key_id",
                  "secret_access_key", "path_style", "object_lock_days", "retention_days", "password_hint"]
        return {**{name: data[name] for name in fields}, "password": data["password"] if data["encrypt"] else None}


class RepositoryEditForm(forms.Form):
    """A repository's name and whether jobs writing to it are scheduled."""

    name = forms.CharField(max_length=100)
    enabled = forms.BooleanField(required=False, help_text="Off: no job writing here is scheduled; its data is kept.")


class LogRepositoryEditForm(RepositoryEditForm):
    """A log repository's name, enabled, retention and password hint (its encryption is fixed when made)."""

    retention_days = forms.IntegerField(min_value=1, max_value=36500, help_text="Whole days older than this are removed")
    password_hint = forms.CharField(required=False, max_length=200)


class RepositoryRemoveForm(forms.Form):
    """What happens to a removed repository's data, and the typed confirmation of erasing it."""

    data = forms.ChoiceField(required=False, widget=forms.RadioSelect, label="Its data", choices=[
        ("detach", "Detach: remove the registration only; the data stays where it is, untouched"),
        ("erase", "Erase: delete every restore point or chunk in it (cannot be undone)"),
    ])
    confirm = forms.CharField(required=False, max_length=200, label="To erase, type the repository's name")
