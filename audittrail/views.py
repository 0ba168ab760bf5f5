from django.contrib.auth.decorators import permission_required
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from audittrail import chain, selectors
from audittrail.exports import CONTENT_TYPES, Export
from audittrail.forms import EntryFilterForm
from audittrail.models import Entry
from audittrail.trail import record

VIEW = "audittrail.view_entry"


@permission_required(VIEW, raise_exception=True)
def entry_list(request):
    form = EntryFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audittrail/entry_list.html", {"form": form, "entries": []}, status=400)
    entries, older = selectors.entries_page(form.filters(), before=form.cleaned_data["before"])
    query = request.GET.copy()
    query.pop("before", None)
    return render(request, "audittrail/entry_list.html",
                  {"form": form, "entries": entries, "older": older, "query": query.urlencode()})


@permission_required(VIEW, raise_exception=True)
def entry_export(request):
    form = EntryFilterForm(request.GET)
    if not form.is_valid():
        return render(request, "audittrail/entry_list.html", {"form": form, "entries": []}, status=400)
    export_format = form.cleaned_data["format"] or "csv"
    export = Export(selectors.entries_matching(form.filters()), export_format)
    record("export.audit_trail", target=f"audit trail page ({export_format})",
           detail={key: value for key, value in request.GET.items() if key not in ("before", "format")})
    response = StreamingHttpResponse(export.chunks(), content_type=CONTENT_TYPES[export_format])
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-trail-{stamp}.{export_format}"'
    return response


@require_http_methods(["GET", "POST"])
@permission_required(VIEW, raise_exception=True)
def entry_verify(request):
    report = None
    if request.method == "POST":
        report = chain.verify()
        record("audit_trail.verify", result=Entry.Result.OK if report.ok else Entry.Result.FAILED,
               detail={"checked": report.checked, "problems": len(report.problems) + report.more_problems})
    return render(request, "audittrail/entry_verify.html", {"report": report})
