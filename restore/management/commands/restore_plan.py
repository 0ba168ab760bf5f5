from pathlib import Path

from django.core.management.base import CommandError

from entrabackup import graph
from entrabackup.management.base import ProductCommand
from entrabackup.vault import VaultError
from repositories.errors import RepositoryError
from repositories.selectors import repository_named
from restore import plan as planner
from restore.errors import RestoreError
from restore.management.commands.restore_point_export import _spec
from restore.planning import password_option, plan_build, plan_from_audit, plan_write
from tenants.errors import TenantError
from tenants.selectors import tenant_named


class Command(ProductCommand):
    domain_errors = (RestoreError, RepositoryError, TenantError, VaultError, graph.GraphError)
    help = (
        "Make a restore plan: the exact Graph writes, in dependency order, that put the chosen objects back as "
        "they were at a restore point, with before/after values, every attribute not written and why, and the "
        "number of Graph requests. Nothing is written to the tenant; apply the plan with restore_apply. "
        "--all puts the whole tenant back (every type the product writes); --audit-ids reverts exactly the "
        "changes of those directory audit records (from the log backup), from the newest restore point "
        "before them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--tenant", required=True)
        parser.add_argument("--restore-point", default="latest", metavar="ID|latest")
        parser.add_argument("--repository", metavar="NAME", help="the repository holding the restore point")
        what = parser.add_mutually_exclusive_group(required=True)
        what.add_argument("--all", action="store_true", help="the whole tenant")
        what.add_argument("--types", nargs="+", metavar="TYPE", help=f"whole types: {', '.join(planner.WRITABLE_TYPES)}")
        what.add_argument("--ids", nargs="+", metavar="ID", help="objects by id")
        what.add_argument("--audit-ids", nargs="+", metavar="RECORD", help="directory audit record ids to revert")
        parser.add_argument("--attributes", nargs="+", metavar="NAME", help="only these attributes")
        parser.add_argument("--relations", choices=[planner.MERGE, planner.OVERWRITE, planner.SKIP],
                            help="relationships: add missing (merge), also remove extra (overwrite), or leave "
                                 "(skip). Default: overwrite with --all, merge otherwise")
        parser.add_argument("--ca-state", choices=[planner.CA_KEEP, planner.CA_REPORT_ONLY, planner.CA_DISABLED],
                            default=planner.CA_KEEP, help="Conditional Access policies restored in this state")
        parser.add_argument("--password", choices=["generate"], default="generate",
                            help="re-created users get a generated password (the default)")
        parser.add_argument("--password-file", type=Path, metavar="F",
                            help="re-created users get the password on F's first line (kept sealed in the plan)")
        parser.add_argument("--output", required=True, type=Path, metavar="PLAN.json")

    def handle(self, *args, **o):
        tenant = tenant_named(o["tenant"])
        options = planner.Options(
            relations=o["relations"] or (planner.OVERWRITE if o["all"] else planner.MERGE), ca_state=o["ca_state"],
            password=password_option(tenant, mode="file" if o["password_file"] else "generate",
                                     text=_read(o["password_file"])))
        if o["audit_ids"]:
            if o["attributes"] or o["restore_point"] != "latest":
                raise CommandError("--audit-ids chooses the attributes and the restore point itself.")
            doc = plan_from_audit(tenant=tenant, record_ids=o["audit_ids"], options=options)
        else:
            spec = _spec(o["restore_point"], _repository(o["repository"]))
            selection = planner.Selection(everything=o["all"], types=tuple(o["types"] or ()), ids=tuple(o["ids"] or ()),
                                          attributes=frozenset(o["attributes"]) if o["attributes"] else None)
            doc = plan_build(tenant=tenant, restore_point=spec, selection=selection, options=options)
        try:
            plan_write(doc, o["output"])
        except OSError as exc:
            raise CommandError(f"Cannot write {o['output']}: {exc.strerror}.") from None
        self._report(doc, o["output"])

    def _report(self, doc: dict, output: Path) -> None:
        counts = {}
        for step in doc["steps"]:
            counts[step["op"]] = counts.get(step["op"], 0) + 1
        requests = doc["requests"]
        self.stdout.write(f"Plan {doc['plan_id']} for {doc['tenant']['name']} at restore point "
                          f"{doc['restore_point']['id']}: {len(doc['steps'])} steps ("
                          + ", ".join(f"{n} {op}" for op, n in sorted(counts.items())) + ")")
        self.stdout.write(f"  {len(doc['skipped'])} attributes or relationships not written (reasons in the plan); "
                          f"{sum(1 for c in doc['created_after'] if c['deleted'])} of "
                          f"{len(doc['created_after'])} objects created since are soft-deleted")
        self.stdout.write(f"  Graph requests: {requests['writes']} writes and {requests['reads']} reads in "
                          f"{requests['batches']} $batch requests")
        self.stdout.write(f"written to {output}")


def _read(path: Path | None) -> str | None:
    if path is None:
        return None
    try:
        return path.read_text(encoding="utf-8").splitlines()[0] if path.stat().st_size else ""
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"Cannot read the password file {path}: {getattr(exc, 'strerror', None) or 'not text'}.") from None


def _repository(name: str | None) -> int | None:
    if not name:
        return None
    return repository_named(name).pk
