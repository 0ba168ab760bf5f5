from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from jobs.management.commands._common import tenant_named
from restore.errors import RestoreError
from restore.services import restore_point_export


class Command(BaseCommand):
    help = (
        "Export a restore point: one JSON file per object type in DIR, each a list of the objects as Graph "
        "returned them, relationships included (members, owners, manager), plus manifest.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--restore-point", required=True, help="restore point id, or 'latest'")
        parser.add_argument("--output", required=True, type=Path, metavar="DIR")

    def handle(self, *args, tenant, restore_point, output, **options):
        try:
            manifest = restore_point_export(tenant=tenant_named(tenant), restore_point=restore_point, output=output)
        except RestoreError as exc:
            raise CommandError(str(exc)) from None
        total = sum(manifest["objects"].values())
        self.stdout.write(f"Restore point {manifest['restore_point']} ({manifest['committed_at']}): "
                          f"{total} objects of {len(manifest['objects'])} types written to {output}.")
