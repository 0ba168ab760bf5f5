from django import forms

from jobs.backup import OBJECT_TYPES, TYPE_LABELS
from jobs.errors import ScheduleError
from jobs.models import BackupJob
from jobs.schedules import schedule_validate
from repositories.models import Repository
from tenants.models import Tenant


class JobForm(forms.Form):
    name = forms.CharField(max_length=100, required=False, help_text="Default: '<tenant> directory backup'")
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    repository = forms.ModelChoiceField(queryset=Repository.objects.all(), required=False,
                                        help_text="Default: the local repository")
    object_types = forms.MultipleChoiceField(choices=[(t, TYPE_LABELS.get(t, t)) for t in OBJECT_TYPES], required=False,
                                             widget=forms.CheckboxSelectMultiple, initial=OBJECT_TYPES,
                                             help_text="None ticked: all")
    schedule_kind = forms.ChoiceField(choices=BackupJob.ScheduleKind.choices, initial="daily", label="Schedule")
    schedule_value = forms.CharField(required=False, label="Every / at / cron", initial="02:00",
                                     help_text="N for every N minutes or hours, HH:MM daily, or a cron expression")
    retention_days = forms.IntegerField(min_value=1, required=False)
    retention_points = forms.IntegerField(min_value=1, required=False)
    full_every_days = forms.IntegerField(min_value=0, initial=7, label="Full reconciliation every N days")

    def __init__(self, *args, tenants=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants if tenants is not None else Tenant.objects.all()

    def clean(self):
        data = super().clean()
        try:
            data["schedule_value"] = schedule_validate(data.get("schedule_kind", ""), data.get("schedule_value", ""))
        except ScheduleError as exc:
            self.add_error("schedule_value", str(exc))
        return data
