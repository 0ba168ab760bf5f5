from django.shortcuts import render

from jobs.selectors import proxies_running


def job_list(request):
    return render(request, "jobs/job_list.html", {"jobs": []})


def session_list(request):
    return render(request, "jobs/session_list.html", {"sessions": [], "proxies": proxies_running()})
