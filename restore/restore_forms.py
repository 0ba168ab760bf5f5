"""Forms of the restore pages: choosing what to restore, and applying a plan with a reason."""

import re

from django import forms
from django.core.exceptions import ValidationError

from restore import plan as planner
from restore.forms import point_spec_parse, text_validate

_ID = re.compile(r"^[0-9A-Za-z-]{1,64}$")
MAX_IDS = 100_000
_AUDIT_ID = re.compile(r"^[0-9A-Za-z_.-]{1,200}$")


def _ids(text: str) -> tuple[str, ...]:
    ids = tuple(dict.fromkeys(t for t in re.split(r"[\s,;]+", text or "") if t))
    bad = [i for i in ids if not _ID.match(i)]
    if bad:
        raise ValidationError(f"{bad[0][:40]!r} is not an object id.")
    if len(ids) > MAX_IDS:
        raise ValidationError(f"At most {MAX_IDS} ids at once.")
    return ids


class PlanForm(forms.Form):
    """What to restore, from which restore point, and how."""

    rp = forms.CharField(required=False, max_length=40, label="Restore point", help_text="latest, or <repository>:<id>")
    scope = forms.ChoiceField(choices=[("ids", "These objects"), ("types", "Whole types"),
                                       ("all", "The whole tenant")], initial="ids")
    ids = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Object ids",
                          help_text="From the object explorer or a change report; one per line")
    types = forms.MultipleChoiceField(required=False, choices=[(t, t) for t in planner.WRITABLE_TYPES])
    attributes = forms.CharField(required=False, max_length=2000, help_text="Only these attributes (comma-separated)")
    relations = forms.ChoiceField(choices=[(planner.MERGE, "Merge: add what is missing"),
                                           (planner.OVERWRITE, "Overwrite: also remove what was added"),
                                           (planner.SKIP, "Skip relationships")], initial=planner.MERGE)
    ca_state = forms.ChoiceField(label="Conditional Access policies", initial=planner.CA_KEEP, choices=[
        (planner.CA_KEEP, "As they were"), (planner.CA_REPORT_ONLY, "Report-only first"),
        (planner.CA_DISABLED, "Disabled first")])

    def clean_rp(self):
        return point_spec_parse(self.cleaned_data["rp"])

    def clean_ids(self):
        return _ids(self.cleaned_data["ids"])

    def clean_attributes(self):
        text = text_validate(self.cleaned_data["attributes"], "attribute list")
        names = [a.strip() for a in text.split(",") if a.strip()]
        return frozenset(names) if names else None

    def clean(self):
        data = super().clean()
        if data.get("scope") == "ids" and not data.get("ids"):
            self.add_error("ids", "Give at least one object id.")
        if data.get("scope") == "types" and not data.get("types"):
            self.add_error("types", "Choose at least one type.")
        return data

    def selection(self) -> planner.Selection:
        data = self.cleaned_data
        return planner.Selection(everything=data["scope"] == "all",
                                 types=tuple(data["types"]) if data["scope"] == "types" else (),
                                 ids=data["ids"] if data["scope"] == "ids" else (), attributes=data["attributes"])

    def options(self) -> planner.Options:
        return planner.Options(relations=self.cleaned_data["relations"], ca_state=self.cleaned_data["ca_state"])


class AuditPlanForm(forms.Form):
    """Directory audit records to revert (the log explorer's "revert selected records")."""

    audit_ids = forms.CharField(widget=forms.Textarea)

    def clean_audit_ids(self):
        # Graph's directory audit ids hold underscores (Directory_<guid>_<code>_<n>), unlike object ids.
        ids = list(dict.fromkeys(t for t in re.split(r"[\s,;]+", self.cleaned_data["audit_ids"]) if t))
        bad = [i for i in ids if not _AUDIT_ID.match(i)]
        if bad:
            raise ValidationError(f"{bad[0][:40]!r} is not a directory audit record id.")
        return ids


class ApplyForm(forms.Form):
    reason = forms.CharField(max_length=2000,
                             help_text="Why this restore is made; recorded with the session")

    def clean_reason(self):
        return text_validate(self.cleaned_data["reason"].strip(), "reason")
