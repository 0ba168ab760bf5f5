from django import forms

from approvals.models import Action


class DecisionForm(forms.Form):
    note = forms.CharField(max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Why (kept with the decision)")


class SwitchForm(forms.Form):
    action = forms.ChoiceField(choices=Action.choices)
    enabled = forms.BooleanField(required=False, label="Ask a second administrator")
    min_writes = forms.IntegerField(required=False, min_value=0, max_value=10_000_000,
                                    label="Large restores: from this many planned writes")
