from django.apps import AppConfig


class RepositoriesConfig(AppConfig):
    name = "repositories"
    verbose_name = "Repositories"

    def ready(self):
        from repositories import lifecycle  # noqa: F401, PLC0415 - registers the removals that wait for approval
