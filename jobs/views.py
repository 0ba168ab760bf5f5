from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from entrabackup.paging import render_list
from jobs import lifecycle, lists, selectors, services
from jobs.errors import JobError
from jobs.forms import JobEditForm, JobForm, LogJobEditForm, SessionRunForm
from jobs.models import BackupJob
from tenants.selectors import tenants_visible_to


@permission_required("jobs.view_backupjob", raise_exception=True)
def job_list(request):
    query, page = lists.job_page(request)
    may = lists.may(request.user, "jobs.run_backup", "jobs.change_backupjob", "jobs.add_backupjob",
                    "jobs.delete_backupjob")
    return render_list(request, "jobs/job_list.html", "jobs/_job_table.html",
                       {"query": query, "page": page, "may": may, "add_url": reverse("jobs:job_add")}, query.status)


@permission_required("jobs.add_backupjob", raise_exception=True)
def job_add(request):
    clone = selectors.job_for(request.user, request.GET["clone"], "jobs.view_backupjob") if request.GET.get("clone", "").isdigit() else None
    initial = lifecycle.job_clone_initial(clone) if clone else None
    form = JobForm(request.POST or None, tenants=tenants_visible_to(request.user, "jobs.add_backupjob"), initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(**{k: v for k, v in form.cleaned_data.items() if v not in (None, "")})
        except JobError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Job '{job.name}' created.")
            return redirect("jobs:job_list")
    return render(request, "jobs/job_add.html", {"form": form, "clone_of": clone})


@permission_required("jobs.change_backupjob", raise_exception=True)
def job_edit(request, pk):
    job = selectors.job_for(request.user, pk, "jobs.change_backupjob")
    form = JobEditForm(request.POST or None, job=job, initial=JobEditForm.initial_for(job))
    if request.method == "POST" and form.is_valid():
        try:
            done = lifecycle.job_update(job=job, user=request.user, request=request, **form.changes())
        except JobError as exc:
            form.add_error(None, str(exc))
        else:
            if isinstance(done, BackupJob):
                messages.success(request, f"Job '{job.name}' saved.")
            else:
                messages.info(request, f"Lowering the retention of '{job.name}' waits for a second administrator's approval.")
            return redirect("jobs:job_list")
    return render(request, "jobs/job_edit.html", {"job": job, "form": form})


@permission_required("jobs.delete_backupjob", raise_exception=True)
def job_remove(request, pk):
    """What removing the job keeps and removes; the removal itself on POST."""
    job = selectors.job_for(request.user, pk, "jobs.delete_backupjob")
    error = None
    if request.method == "POST":
        try:
            lifecycle.job_remove(job=job, user=request.user, request=request)
        except JobError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Job '{job.name}' removed; its restore points are kept.")
            return redirect("jobs:job_list")
    return render(request, "jobs/job_remove.html", {"job": job, "holdings": lifecycle.job_holdings(job), "error": error})


@require_POST
@permission_required("jobs.run_backup", raise_exception=True)
def job_run(request, pk):
    job, form = selectors.job_for(request.user, pk, "jobs.run_backup"), SessionRunForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"Session not started: {'; '.join(form.errors['kind'])}")
        return redirect("jobs:job_list")
    try:
        session = services.session_create(job=job, kind=form.cleaned_data["kind"], requested_by=request.user)
    except JobError as exc:
        messages.error(request, str(exc))
        return redirect("jobs:job_list")
    messages.success(request, f"Session {session.pk} queued.")
    return redirect("jobs:session_detail", pk=session.pk)


@permission_required("jobs.view_backupsession", raise_exception=True)
def session_detail(request, pk):
    session = selectors.session_for(request.user, pk)
    if request.htmx:
        response = render(request, "jobs/_session_status.html", {"session": session})
        response.status_code = 286 if session.finished else 200  # 286 stops htmx polling
        response["Vary"] = "HX-Request"
        return response
    return render(request, "jobs/session_detail.html", {"session": session})


@require_POST
@permission_required("jobs.run_backup", raise_exception=True)
def session_cancel(request, pk):
    session = selectors.session_for(request.user, pk, "jobs.run_backup")
    if lifecycle.session_cancel_any(kind="backup", session=session, user=request.user, request=request):
        messages.success(request, f"Cancellation of session {session.pk} requested.")
    else:
        messages.error(request, f"Session {session.pk} has already finished.")
    return redirect("jobs:session_detail", pk=session.pk)


@permission_required("jobs.view_logsession", raise_exception=True)
def log_list(request):
    query, page = lists.log_job_page(request)
    may = lists.may(request.user, "jobs.change_logjob", "jobs.delete_logjob")
    return render_list(request, "jobs/log_list.html", "jobs/_log_job_table.html",
                       {"query": query, "page": page, "may": may}, query.status)


@permission_required("jobs.view_logsession", raise_exception=True)
def log_session_detail(request, pk):
    session = get_object_or_404(selectors.log_sessions_visible_to(request.user), pk=pk)
    if request.htmx:
        response = render(request, "jobs/_log_session_status.html", {"session": session})
        response.status_code = 286 if session.finished else 200  # 286 stops htmx polling
        response["Vary"] = "HX-Request"
        return response
    return render(request, "jobs/log_session_detail.html", {"session": session})


def _log_job_for(request, pk, perm):
    return get_object_or_404(selectors.log_jobs_visible_to(request.user, perm), pk=pk)


@permission_required("jobs.change_logjob", raise_exception=True)
def log_job_edit(request, pk):
    job = _log_job_for(request, pk, "jobs.change_logjob")
    form = LogJobEditForm(request.POST or None, initial=LogJobEditForm.initial_for(job))
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.log_job_update(job=job, user=request.user, request=request, **form.cleaned_data)
        except JobError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Log job {job.pk} of {job.tenant.name} saved.")
            return redirect("jobs:log_list")
    return render(request, "jobs/log_job_edit.html", {"job": job, "form": form})


@permission_required("jobs.delete_logjob", raise_exception=True)
def log_job_remove(request, pk):
    job = _log_job_for(request, pk, "jobs.delete_logjob")
    error = None
    if request.method == "POST":
        try:
            lifecycle.log_job_remove(job=job, user=request.user, request=request)
        except JobError as exc:
            error = str(exc)
        else:
            messages.success(request, f"Log job of {job.tenant.name} removed; its chunks are kept.")
            return redirect("jobs:log_list")
    return render(request, "jobs/log_job_remove.html", {"job": job, "error": error,
                                                        "sessions": job.sessions.count()})
