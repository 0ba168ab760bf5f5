from django import forms

from jobs.backup import OBJECT_TYPES, TYPE_LABELS
from jobs.errors import JobValidationError
from jobs.logbackup.types import LOG_TYPES
from jobs.models import BackupJob, BackupSession, LogJob
from jobs.services import NAME_MAX_LENGTH, job_settings_validate
from repositories.models import LogRepository, Repository
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


class JobEditForm(JobForm):
    """A job's settings; its tenant stays (a copy for another tenant is a clone)."""

    enabled = forms.BooleanField(required=False, help_text="Off: not scheduled; its restore points are kept.")

    def __init__(self, *args, job: BackupJob, **kwargs):
        super().__init__(*args, **kwargs)
        del self.fields["tenant"]
        self.fields["name"].required = self.fields["repository"].required = True
        self.fields["repository"].help_text = ("Another repository gets a full read at the next session; restore "
                                               "points made so far stay where they are.")
        self.job = job

    @classmethod
    def initial_for(cls, job: BackupJob) -> dict:
        return {"name": job.name, "repository": job.repository_id, "object_types": job.object_types,
                "schedule_kind": job.schedule_kind, "schedule_value": job.schedule_value,
                "retention_days": job.retention_days, "retention_points": job.retention_points,
                "full_every_days": job.full_every_days, "enabled": job.enabled}

    def clean(self):
        self.cleaned_data.setdefault("tenant", self.job.tenant)
        return super().clean()

    def changes(self) -> dict:
        """Keyword arguments for lifecycle.job_update."""
        fields = ["name", "repository", "object_types", "schedule_kind", "schedule_value", "retention_days",
                  "retention_points", "full_every_days", "enabled"]
        return {name: self.cleaned_data[name] for name in fields}


class LogJobEditForm(forms.Form):
    """A log job's repositories, log types, interval, overlap and whether it runs (the rules are the service's)."""

    primary = forms.ModelChoiceField(queryset=LogRepository.objects.all())
    secondary = forms.ModelChoiceField(queryset=LogRepository.objects.all(), required=False)
    log_types = forms.MultipleChoiceField(choices=[(k, t.label) for k, t in LOG_TYPES.items()],
                                          widget=forms.CheckboxSelectMultiple, required=False, help_text="None ticked: all")
    every_minutes = forms.IntegerField()
    overlap_minutes = forms.IntegerField(help_text="Re-read this far behind the watermark for records that arrive late")
    enabled = forms.BooleanField(required=False, help_text="Off: not scheduled; its chunks are kept.")

    @classmethod
    def initial_for(cls, job: LogJob) -> dict:
        return {"primary": job.primary_id, "secondary": job.secondary_id, "log_types": job.log_types,
                "every_minutes": job.every_minutes, "overlap_minutes": job.overlap_minutes, "enabled": job.enabled}
