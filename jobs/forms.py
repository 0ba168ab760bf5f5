from django import forms

from jobs.backup import OBJECT_TYPES, TYPE_LABELS
from jobs.errors import JobValidationError
from jobs.models import BackupJob, BackupSession
from jobs.services import NAME_MAX_LENGTH, job_settings_validate
from repositories.models import Repository
from tenants.models import Tenant


class JobForm(forms.Form):
    name = forms.CharField(max_length=NAME_MAX_LENGTH, required=False, help_text="Default: '<tenant> directory backup'")
    tenant = forms.ModelChoiceField(queryset=Tenant.objects.none())
    repository = forms.ModelChoiceField(queryset=Repository.objects.all(), required=False,
                                        help_text="Default: the local repository")
    object_types = forms.MultipleChoiceField(choices=[(t, TYPE_LABELS.get(t, t)) for t in OBJECT_TYPES], required=False,
                                             widget=forms.CheckboxSelectMultiple, initial=OBJECT_TYPES,
                                             help_text="None ticked: all")
    schedule_kind = forms.ChoiceField(choices=BackupJob.ScheduleKind.choices, initial="daily", label="Schedule")
    schedule_value = forms.CharField(required=False, label="Every / at / cron", initial="02:00",
                                     help_text="N for every N minutes or hours, HH:MM daily, or a cron expression")
    # Their ranges are the service's (job_settings_validate), shared with the job_add command.
    retention_days = forms.IntegerField(required=False)
    retention_points = forms.IntegerField(required=False)
    full_every_days = forms.IntegerField(initial=7, label="Full reconciliation every N days")

    def __init__(self, *args, tenants=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tenant"].queryset = tenants if tenants is not None else Tenant.objects.all()

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        default_name = f"{data['tenant'].name} directory backup"
        try:
            data.update(job_settings_validate(
                name=data.get("name") or default_name, schedule_kind=data["schedule_kind"],
                schedule_value=data.get("schedule_value", ""), retention_days=data.get("retention_days"),
                retention_points=data.get("retention_points"), full_every_days=data.get("full_every_days")))
        except JobValidationError as exc:
            self.add_error(exc.field if exc.field in self.fields else None, str(exc))
        return data


class SessionRunForm(forms.Form):
    """What "run now" posts: the kind of session."""

    kind = forms.ChoiceField(choices=BackupSession.Kind.choices, required=False, error_messages={
        "invalid_choice": f"unknown kind of session; choose one of {', '.join(BackupSession.Kind.values)}."})

    def clean_kind(self):
        return self.cleaned_data["kind"] or BackupSession.Kind.AUTO
