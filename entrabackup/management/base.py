"""The base of the product's management commands: failures an operator can fix end in one clear line.

A command lists the domain errors whose messages are safe to show (`domain_errors`); they, and a
configuration database that is unreachable or was never migrated, become a CommandError (one line on
stderr, exit status 1) instead of a traceback. What a command records in the audit trail is attributed
to the command, the OS user who ran it and the host (audittrail.trail).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, ProgrammingError

from audittrail import trail

NOT_MIGRATED = "The configuration database is not migrated: run `manage.py migrate`."
# PostgreSQL SQLSTATEs of a schema older than the code: undefined_table, undefined_column.
_MISSING_SCHEMA = {"42P01", "42703"}


class ProductCommand(BaseCommand):
    domain_errors: tuple[type[Exception], ...] = ()

    def execute(self, *args, **options):
        # What the command records in the audit trail is attributed to it, the OS user and the host.
        try:
            with trail.acting(trail.command_context(self._audit_name())):
                return super().execute(*args, **options)
        except ProgrammingError as exc:
            if getattr(exc.__cause__, "sqlstate", None) in _MISSING_SCHEMA:
                raise CommandError(NOT_MIGRATED) from None
            raise
        except OperationalError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else type(exc).__name__
            raise CommandError(f"Cannot reach the configuration database: {reason}") from None
        except self.domain_errors as exc:
            raise CommandError(str(exc)) from None

    def _audit_name(self) -> str:
        """The command's name as typed (`manage.py tenant_update`): its module's last part."""
        return type(self).__module__.rsplit(".", 1)[-1]
