from django.shortcuts import render


def restore_index(request):
    return render(request, "restore/restore_index.html")


def log_index(request):
    return render(request, "restore/log_index.html")
