from django.template.defaultfilters import filesizeformat

from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.models import LogRepository


class Command(ProductCommand):
    domain_errors = (RepositoryError,)
    help = "List the log backup repositories: kind, location, retention, encryption and the last health check."

    def handle(self, *args, **options):
        repositories = LogRepository.objects.all()
        if not repositories:
            self.stdout.write("No log repositories yet (the local one is created with the first log job).")
        for repository in repositories:
            check = "never checked"
            if repository.checked_at:
                state = "sound" if repository.check_ok else "FAILED"
                check = f"checked {repository.checked_at:%Y-%m-%d %H:%M} UTC: {state}"
            usage = filesizeformat(repository.usage_bytes) if repository.usage_bytes is not None else "?"
            self.stdout.write(f"{repository.name}\t{repository.kind}\t{repository.location}\t"
                              f"retention {repository.retention_days} d\tencryption {repository.encryption}\t"
                              f"{usage}\t{check}")
