from pathlib import Path

from django.core.management.base import CommandError

from entrabackup.management.base import ProductCommand
from repositories.errors import RepositoryError
from repositories.selectors import repository_named
from restore.errors import RestoreError
from restore.selectors import PointSpec
from restore.services import restore_point_export
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (RestoreError, RepositoryError, TenantError)
    help = (
        "Export a restore point: one JSON file per object type in DIR, each a list of the objects as Graph "
        "returned them, relationships included (members, owners, manager), plus manifest.json. The files are "
        "written into a new folder beside DIR that then replaces DIR as a whole: a previous export in DIR is "
        "replaced (never mixed with the new files) and a failed export leaves DIR as it was. A DIR that holds "
        "other files is refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--restore-point", required=True, metavar="latest|ID",
                            help="'latest' (the newest, across the tenant's repositories unless --repository "
                                 "names one) or a restore point id")
        parser.add_argument("--repository", metavar="NAME",
                            help="the repository holding the restore point; needed when an id exists in several")
        parser.add_argument("--output", required=True, type=Path, metavar="DIR")

    def handle(self, *args, tenant, restore_point, repository, output, **options):
        tenant = tenant_named(tenant)
        spec = _spec(restore_point, repository_named(repository).pk if repository else None)
        manifest = restore_point_export(tenant=tenant, restore_point=spec, output=output)
        total = sum(manifest["objects"].values())
        self.stdout.write(f"Restore point {manifest['restore_point']} of {manifest['repository']} "
                          f"({manifest['committed_at']}): {total} objects of {len(manifest['objects'])} types "
                          f"written to {output}.")


def _spec(restore_point: str, repository_id: int | None) -> PointSpec:
    text = restore_point.strip()
    if text == "latest":
        return PointSpec(repository_id, None)
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        raise CommandError(f"--restore-point is 'latest' or a restore point id (a number), not {text[:40]!r}.")
    return PointSpec(repository_id, int(text))
