from django import forms

from repositories.models import Repository


class RepositoryForm(forms.Form):
    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Repository.Kind.choices, initial=Repository.Kind.REMOTE)
    database = forms.CharField(max_length=63, help_text="Database name (a local one is created for you)")
    host = forms.CharField(required=False, help_text="Remote only")
    port = forms.IntegerField(required=False, min_value=1, max_value=65535, help_text="Remote only (default 5432)")
    user = forms.CharField(required=False, help_text="Remote only: needs to create tables in that database")
    password = forms.CharField(required=False, strip=False, widget=forms.PasswordInput(render_value=False),
                               help_text="Remote only: sealed at rest, never shown again")
    sslmode = forms.ChoiceField(choices=Repository.SslMode.choices, initial=Repository.SslMode.VERIFY_FULL, label="TLS mode")
    ssl_root_cert = forms.FileField(required=False, label="CA certificate", help_text="PEM, to verify the server")

    def clean_ssl_root_cert(self):
        upload = self.cleaned_data.get("ssl_root_cert")
        return upload.read(256 * 1024).decode("ascii", errors="replace") if upload else ""
