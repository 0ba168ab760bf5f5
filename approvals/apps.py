from django.apps import AppConfig


class ApprovalsConfig(AppConfig):
    name = "approvals"
    verbose_name = "Approvals"

    def ready(self):
        # Registers the executors of the actions wired here (restores, restore point deletion).
        from approvals import actions  # noqa: F401, PLC0415 - models must be loaded first
