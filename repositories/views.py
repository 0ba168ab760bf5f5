from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.debug import sensitive_post_parameters, sensitive_variables
from django.views.decorators.http import require_POST

from entrabackup.paging import render_list
from repositories import lifecycle, lists, services
from repositories.errors import RepositoryError
from repositories.forms import (
    LogRepositoryEditForm,
    LogRepositoryForm,
    RepositoryConnectionForm,
    RepositoryEditForm,
    RepositoryForm,
    RepositoryRemoveForm,
)
from repositories.selectors import log_repositories_visible_to, repositories_visible_to


@permission_required("repositories.view_repository", raise_exception=True)
def repository_list(request):
    query, page, log_page = lists.repository_pages(request)
    return render_list(request, "repositories/repository_list.html", "repositories/_repository_tables.html", {
        "query": query, "page": page, "log_page": log_page,
        "cache_dir": settings.CACHE_DIR,
        "log_roots": settings.LOG_REPOSITORY_ROOTS,
    }, query.status)


@sensitive_post_parameters("password")
@sensitive_variables()
@permission_required("repositories.add_repository", raise_exception=True)
def repository_add(request):
    form = RepositoryForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            repository = services.repository_add(name=form.cleaned_data["name"], kind=form.cleaned_data["kind"],
                                                 **form.connection())
        except RepositoryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Repository '{repository.name}' added and prepared (schema {repository.schema_version}).")
            return redirect("repositories:repository_list")
    return render(request, "repositories/repository_add.html", {"form": form})


@sensitive_post_parameters("password")
@sensitive_variables()
@permission_required("repositories.change_repository", raise_exception=True)
def repository_connection(request, pk):
    """Change where the password is sent (host, port, user, database, TLS): only with the password again."""
    repository = get_object_or_404(repositories_visible_to(request.user), pk=pk)
    form = RepositoryConnectionForm(request.POST or None, request.FILES or None, repository=repository)
    if request.method == "POST" and form.is_valid():
        try:
            services.repository_set_connection(repository=repository, **form.connection())
        except RepositoryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Repository '{repository.name}' now uses {repository.location} (checked and prepared).")
            return redirect("repositories:repository_list")
    return render(request, "repositories/repository_connection.html", {"repository": repository, "form": form})


@require_POST
@permission_required("repositories.change_repository", raise_exception=True)
def repository_check(request, pk):
    repository = get_object_or_404(repositories_visible_to(request.user), pk=pk)
    result = services.repository_check(repository)
    if result["ok"]:
        messages.success(request, f"Repository '{repository.name}' is reachable (schema {result['schema_version']}).")
    else:
        messages.error(request, result["error"])
    return redirect("repositories:repository_list")


@sensitive_post_parameters("password", "password_again", "secret_access_key")
@sensitive_variables()
@permission_required("repositories.add_logrepository", raise_exception=True)
def log_repository_add(request):
    form = LogRepositoryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            repository = services.log_repository_add(**form.repository())
        except RepositoryError as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Log repository '{repository.name}' added ({repository.location}).")
            return redirect("repositories:repository_list")
    return render(request, "repositories/log_repository_add.html", {"form": form, "log_roots": settings.LOG_REPOSITORY_ROOTS})


@require_POST
@permission_required("repositories.check_logrepository", raise_exception=True)
def log_repository_check(request, pk):
    repository = get_object_or_404(log_repositories_visible_to(request.user), pk=pk)
    try:
        report = services.log_repository_check(repository=repository)
    except RepositoryError as exc:
        messages.error(request, str(exc))
    else:
        (messages.success if report.ok else messages.error)(request, f"Log repository '{repository.name}': {report.summary()}.")
    return redirect("repositories:repository_list")


@permission_required("repositories.change_repository", raise_exception=True)
def repository_edit(request, pk):
    repository = get_object_or_404(repositories_visible_to(request.user), pk=pk)
    form = RepositoryEditForm(request.POST or None, initial={"name": repository.name, "enabled": repository.enabled})
    return _edit(request, form, repository, lifecycle.repository_update)


@permission_required("repositories.change_logrepository", raise_exception=True)
def log_repository_edit(request, pk):
    repository = get_object_or_404(log_repositories_visible_to(request.user), pk=pk)
    form = LogRepositoryEditForm(request.POST or None, initial={
        "name": repository.name, "enabled": repository.enabled, "retention_days": repository.retention_days,
        "password_hint": repository.password_hint})
    return _edit(request, form, repository, lifecycle.log_repository_update)


def _edit(request, form, repository, update):
    if request.method == "POST" and form.is_valid():
        try:
            done = update(repository=repository, user=request.user, request=request, **form.cleaned_data)
        except RepositoryError as exc:
            form.add_error(None, str(exc))
        else:
            if done is repository:
                messages.success(request, f"Repository '{repository.name}' saved.")
            else:
                messages.info(request, f"Lowering the retention of '{repository.name}' waits for approval.")
            return redirect("repositories:repository_list")
    return render(request, "repositories/repository_edit.html", {"repository": repository, "form": form})


@permission_required("repositories.delete_repository", raise_exception=True)
def repository_remove(request, pk):
    repository = get_object_or_404(repositories_visible_to(request.user), pk=pk)
    return _remove(request, repository, lifecycle.repository_holdings, lifecycle.repository_remove)


@permission_required("repositories.delete_logrepository", raise_exception=True)
def log_repository_remove(request, pk):
    repository = get_object_or_404(log_repositories_visible_to(request.user), pk=pk)
    return _remove(request, repository, lifecycle.log_repository_holdings, lifecycle.log_repository_remove)


def _remove(request, repository, holdings, remove):
    """What the repository holds and who writes to it; the removal itself on POST."""
    form = RepositoryRemoveForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            done = remove(repository=repository, user=request.user, request=request, **form.cleaned_data)
        except RepositoryError as exc:
            form.add_error(None, str(exc))
        else:
            if isinstance(done, lifecycle.RepositoryHoldings):
                messages.success(request, f"Repository '{repository.name}' removed ({form.cleaned_data['data'] or 'it was empty'}).")
            else:
                messages.info(request, f"Removing '{repository.name}' waits for a second administrator's approval.")
            return redirect("repositories:repository_list")
    return render(request, "repositories/repository_remove.html",
                  {"repository": repository, "form": form, "holdings": holdings(repository)})
