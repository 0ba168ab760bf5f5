from django.shortcuts import render


def repository_list(request):
    return render(request, "repositories/repository_list.html", {"repositories": []})
