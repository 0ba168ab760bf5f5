from datetime import datetime, time

from django import forms
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from entrabackup import graph
from tenants import services
from tenants.errors import CredentialError, TenantValidationError
from tenants.models import Tenant

MAX_UPLOAD = 256 * 1024


class CredentialForm(forms.Form):
    """How the app registration proves who it is: a secret, a certificate we are given, or one we make."""

    KINDS = [
        ("secret", "Client secret"),
        ("certificate", "Upload a certificate (PEM with its key, or PFX)"),
        ("generate", "Generate a certificate here (then add its public part to the app registration)"),
    ]
    credential_kind = forms.ChoiceField(choices=KINDS, widget=forms.RadioSelect, initial="secret", label="Credential")
    client_secret = forms.CharField(required=False, strip=True, widget=forms.PasswordInput(render_value=False),
                                    help_text="The secret's value (not its ID). It is sealed and never shown again.")
    secret_expires_on = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}),
                                        help_text="As shown under Certificates & secrets; we warn before it expires.")
    certificate_file = forms.FileField(required=False, help_text="PEM holding key and certificate, or a .pfx/.p12 file")
    certificate_password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False))

    @sensitive_variables("data")
    def clean(self):
        data = super().clean()
        kind = data.get("credential_kind")
        try:
            data["credential"] = self._credential(kind, data)
        except (CredentialError, ValueError) as exc:
            self.add_error("certificate_file" if kind == "certificate" else "client_secret", str(exc))
        return data

    @sensitive_variables("data", "upload")
    def _credential(self, kind, data):
        if kind == "secret":
            if not data.get("client_secret"):
                raise ValueError("Enter the client secret's value.")
            return graph.ClientSecret(data["client_secret"])
        if kind == "certificate":
            upload = data.get("certificate_file")
            if upload is None:
                raise ValueError("Choose the certificate file.")
            if upload.size > MAX_UPLOAD:
                raise ValueError("That file is too large to be a certificate.")
            return services.certificate_from_upload(upload.read(), data.get("certificate_password") or None)
        generated = services.tenant_generate_certificate(tenant_name=self.data.get("name", "tenant"))
        self.generated = generated
        return generated.credential()

    def expires_at(self):
        day = self.cleaned_data.get("secret_expires_on")
        return timezone.make_aware(datetime.combine(day, time.max)) if day else None


class TenantForm(CredentialForm):
    name = forms.CharField(max_length=100)
    directory_id = forms.CharField(label="Tenant ID", max_length=255,
                                   help_text="Directory (tenant) ID, or a verified domain such as contoso.onmicrosoft.com")
    client_id = forms.UUIDField(label="Application (client) ID")
    cloud = forms.ChoiceField(choices=Tenant.Cloud.choices, initial=Tenant.Cloud.GLOBAL)
    authority_url = forms.URLField(required=False, label="Authority URL", assume_scheme="https",
                                   help_text="Custom cloud only: https://login.example.org (without the tenant)")
    graph_url = forms.URLField(required=False, label="Graph URL", assume_scheme="https",
                               help_text="Custom cloud only: https://graph.example.org (without /v1.0)")
    ca_bundle = forms.FileField(required=False, label="CA bundle", help_text="Custom cloud only: PEM certificates to trust")
    features = forms.MultipleChoiceField(choices=Tenant.Feature.choices, widget=forms.CheckboxSelectMultiple,
                                         initial=services.DEFAULT_FEATURES, required=False,
                                         help_text="Only what you use: the connection test asks only for its permissions. "
                                                   "Restore needs write permissions; tick it when you plan restores.")

    field_order = ["name", "directory_id", "client_id", "cloud", "authority_url", "graph_url", "ca_bundle", "features"]

    def clean_directory_id(self):
        try:
            return services.directory_id_normalise(self.cleaned_data["directory_id"])
        except TenantValidationError as exc:
            raise forms.ValidationError(str(exc)) from None

    def clean_ca_bundle(self):
        upload = self.cleaned_data.get("ca_bundle")
        if upload is None:
            return ""
        if upload.size > MAX_UPLOAD:
            raise forms.ValidationError("That file is too large to be a CA bundle.")
        return upload.read().decode("ascii", errors="replace")

    def registration(self) -> dict:
        """Keyword arguments for services.tenant_create."""
        data = self.cleaned_data
        return {
            "name": data["name"], "directory_id": data["directory_id"], "client_id": str(data["client_id"]),
            "cloud": data["cloud"], "authority_url": data.get("authority_url") or "",
            "graph_url": data.get("graph_url") or "", "ca_bundle_pem": data.get("ca_bundle") or "",
            "features": data.get("features") or None, "credential": data["credential"],
            "secret_expires_at": self.expires_at(),
        }


class TenantConnectionForm(CredentialForm):
    """Where the tenant's credential is sent, changed only together with the credential entered again."""

    directory_id = forms.CharField(label="Tenant ID", max_length=255,
                                   help_text="Directory (tenant) ID, or a verified domain such as contoso.onmicrosoft.com")
    cloud = forms.ChoiceField(choices=Tenant.Cloud.choices)
    authority_url = forms.URLField(required=False, label="Authority URL", assume_scheme="https",
                                   help_text="Custom cloud only: https://login.example.org (without the tenant)")
    graph_url = forms.URLField(required=False, label="Graph URL", assume_scheme="https",
                               help_text="Custom cloud only: https://graph.example.org (without /v1.0)")
    ca_bundle_pem = forms.CharField(required=False, label="CA bundle", max_length=MAX_UPLOAD,
                                    widget=forms.Textarea(attrs={"rows": 4}),
                                    help_text="Custom cloud only: PEM certificates to trust (empty: the system's)")

    field_order = ["directory_id", "cloud", "authority_url", "graph_url", "ca_bundle_pem"]

    @classmethod
    def initial_for(cls, tenant: Tenant) -> dict:
        return {"name": tenant.name, "directory_id": tenant.directory_id, "cloud": tenant.cloud,
                "authority_url": tenant.authority_url, "graph_url": tenant.graph_url,
                "ca_bundle_pem": tenant.ca_bundle_pem}

    def clean_directory_id(self):
        try:
            return services.directory_id_normalise(self.cleaned_data["directory_id"])
        except TenantValidationError as exc:
            raise forms.ValidationError(str(exc)) from None

    def connection(self) -> dict:
        """Keyword arguments for services.tenant_set_connection (without the tenant)."""
        data = self.cleaned_data
        return {
            "cloud": data["cloud"], "directory_id": data["directory_id"],
            "authority_url": data.get("authority_url") or "", "graph_url": data.get("graph_url") or "",
            "ca_bundle_pem": data.get("ca_bundle_pem") or "", "credential": data["credential"],
            "secret_expires_at": self.expires_at(),
        }


class TenantEditForm(forms.Form):
    """What changes without the credential: the name, the features the connection test judges, enabled."""

    name = forms.CharField(max_length=100)
    features = forms.MultipleChoiceField(choices=Tenant.Feature.choices, widget=forms.CheckboxSelectMultiple,
                                         help_text="The connection test asks only for these features' permissions.")
    enabled = forms.BooleanField(required=False, help_text="Off: none of its jobs is scheduled; its backups are kept.")

    @classmethod
    def initial_for(cls, tenant: Tenant) -> dict:
        return {"name": tenant.name, "features": tenant.features, "enabled": tenant.enabled}


class TenantRemoveForm(forms.Form):
    """What happens to a removed tenant's restore points, and the typed confirmation of erasing them."""

    backups = forms.ChoiceField(required=False, widget=forms.RadioSelect, label="Its restore points", choices=[
        ("keep", "Keep them in the repositories (left in place under the tenant's key)"),
        ("erase", "Erase them from every repository (cannot be undone)"),
    ])
    confirm = forms.CharField(required=False, max_length=200, label="To erase, type the tenant's name")
