from django.apps import AppConfig


class AudittrailConfig(AppConfig):
    name = "audittrail"
    verbose_name = "Audit trail"

    def ready(self):
        from audittrail import signals  # noqa: F401 - connects the receivers that record configuration changes
