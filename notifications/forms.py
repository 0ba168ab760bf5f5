from django import forms

from notifications.models import EVENTS, Channel, NotificationSettings


class ChannelForm(forms.Form):
    """A channel: e-mail recipients or a webhook (URL and signing secret), and the events it wants."""

    name = forms.CharField(max_length=100)
    kind = forms.ChoiceField(choices=Channel.Kind.choices, widget=forms.RadioSelect, initial=Channel.Kind.EMAIL)
    recipients = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000,
                                 help_text="E-mail: addresses, one a line")
    url = forms.URLField(required=False, max_length=500, label="Webhook URL", assume_scheme="https")
    secret = forms.CharField(required=False, max_length=200, strip=True, label="Signing secret",
                             widget=forms.PasswordInput(render_value=False),
                             help_text="Webhook: HMAC-SHA256 key; kept sealed, never shown again (empty: keep it)")
    events = forms.MultipleChoiceField(choices=[(e.value, e.label) for e in EVENTS], widget=forms.CheckboxSelectMultiple,
                                       initial=[e.value for e in EVENTS], required=False)
    enabled = forms.BooleanField(required=False, initial=True)

    def clean_recipients(self):
        text = self.cleaned_data["recipients"]
        field = forms.EmailField()
        for address in [a.strip() for a in text.replace(",", "\n").splitlines() if a.strip()]:
            field.clean(address)
        return text


class SettingsForm(forms.ModelForm):
    class Meta:
        model = NotificationSettings
        fields = ["expiry_days", "overdue_grace_minutes", "mass_delete_count", "mass_delete_percent"]

    def clean_mass_delete_percent(self):
        value = self.cleaned_data["mass_delete_percent"]
        if value > 100:
            raise forms.ValidationError("A share is at most 100 %.")
        return value
