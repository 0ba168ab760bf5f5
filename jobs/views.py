from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from jobs import selectors, services
from jobs.errors import JobError
from jobs.forms import JobForm, SessionRunForm
from jobs.schedules import describe
from tenants.selectors import tenants_visible_to


@permission_required("jobs.view_backupjob", raise_exception=True)
def job_list(request):
    jobs = [(job, describe(job.schedule_kind, job.schedule_value)) for job in selectors.jobs_visible_to(request.user)]
    return render(request, "jobs/job_list.html", {"jobs": jobs})


@permission_required("jobs.add_backupjob", raise_exception=True)
def job_add(request):
    form = JobForm(request.POST or None, tenants=tenants_visible_to(request.user, "jobs.add_backupjob"))
    if request.method == "POST" and form.is_valid():
        try:
            job = services.job_create(**{k: v for k, v in form.cleaned_data.items() if v not in (None, "")})
        except JobError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Job '{job.name}' created.")
            return redirect("jobs:job_list")
    return render(request, "jobs/job_add.html", {"form": form})


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
    if services.session_cancel(session=session, user=request.user):
        messages.success(request, f"Cancellation of session {session.pk} requested.")
    else:
        messages.error(request, f"Session {session.pk} has already finished.")
    return redirect("jobs:session_detail", pk=session.pk)


@permission_required("jobs.view_logsession", raise_exception=True)
def log_list(request):
    return render(request, "jobs/log_list.html", {"jobs": selectors.log_jobs_visible_to(request.user)})


@permission_required("jobs.view_logsession", raise_exception=True)
def log_session_detail(request, pk):
    session = get_object_or_404(selectors.log_sessions_visible_to(request.user), pk=pk)
    if request.htmx:
        response = render(request, "jobs/_log_session_status.html", {"session": session})
        response.status_code = 286 if session.finished else 200  # 286 stops htmx polling
        response["Vary"] = "HX-Request"
        return response
    return render(request, "jobs/log_session_detail.html", {"session": session})
