"""Exporting restore points (and, later, restoring from them)."""

import json
import os
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from audittrail.trail import record
from entrabackup.graph import GraphError
from restore.compare import ChangeReport, Production, compare
from restore.errors import CompareError, ExportTargetError
from restore.selectors import LATEST, NAVIGATION, PRODUCTION, PointSpec, tenant_backups
from tenants.services import tenant_graph_client


def restore_point_export(*, tenant, restore_point: PointSpec, output: Path) -> dict:
    """Write one JSON file per object type: the objects as Graph returned them, with their relationships.

    Relationships become navigation properties of their source object, as Graph's `$expand` shows them:
    `members` and `owners` of groups, applications, service principals, administrative units and directory
    roles (lists of {"@odata.type", "id"}), and a user's `manager` ({"id"}). A manifest.json names the tenant,
    the restore point and the number of objects per type.

    The files are written into a new folder beside `output`, which then takes the place of `output` as a
    whole: a previous export there is replaced, never mixed with the new files, and a failed export leaves
    it as it was. A folder that holds anything else is refused.
    """
    output = Path(output).absolute()
    _check_target(output)
    with tenant_backups(tenant) as backups:
        ref = backups.find(restore_point)
        rp, key, store = ref.restore_point, str(tenant.key), backups.store(ref.repository)
        with _staging(output) as staging:
            navigation = _navigation(store, key, rp.id)
            counts = {object_type: _write_type(store, key, rp.id, object_type, navigation, staging)
                      for object_type in store.type_counts(key, rp.id)}
            manifest = {"tenant": tenant.name, "tenant_id": tenant.directory_id, "restore_point": rp.id,
                        "committed_at": rp.committed_at.isoformat(), "kind": rp.kind,
                        "repository": ref.repository.name, "objects": counts}
            (staging / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    record("export.restore_point", target=str(output), tenant=tenant,
           detail={"restore_point": rp.id, "objects": sum(counts.values())})
    return manifest


def _check_target(output: Path) -> None:
    try:
        _refuse_other_files(output)
    except OSError as exc:
        raise ExportTargetError(f"Cannot write the export to {output}: {exc.strerror}.") from None


def _refuse_other_files(output: Path) -> None:
    if output.exists() and not output.is_dir():
        raise ExportTargetError(f"{output} is a file, not a folder.")
    if output.is_dir() and any(output.iterdir()) and not _is_export(output):
        raise ExportTargetError(f"{output} holds files that are not an export; choose an empty or new folder "
                                "(a previous export there is replaced).")


def _is_export(folder: Path) -> bool:
    """A folder restore_point_export wrote: manifest.json and other .json files, nothing else."""
    entries = list(folder.iterdir())
    return (folder / "manifest.json").is_file() and all(e.is_file() and e.suffix == ".json" for e in entries)


@contextmanager
def _staging(output: Path) -> Iterator[Path]:
    """A new folder beside `output` that takes its place on success and is removed on failure."""
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        path = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent))
    except OSError as exc:
        raise ExportTargetError(f"Cannot write the export to {output}: {exc.strerror}.") from None
    try:
        yield path
        _swap(path, output)
    except OSError as exc:
        raise ExportTargetError(f"Cannot write the export to {output}: {exc.strerror}.") from None
    finally:
        shutil.rmtree(path, ignore_errors=True)  # already gone after the swap


def _swap(new: Path, output: Path) -> None:
    """Put `new` at `output`; a previous export there is moved aside first, then removed."""
    if not output.exists():
        os.rename(new, output)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".old", dir=output.parent))
    os.rename(output, old / "export")
    try:
        os.rename(new, output)
    except OSError:
        os.rename(old / "export", output)  # put the previous export back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _navigation(store, key: str, rp_id: int) -> dict:
    """(object type, id) -> {navigation property: value} for every relationship as of the restore point."""
    result = defaultdict(dict)
    for kind, (source_type, prop) in NAVIGATION.items():
        for rel in store.iter_relations(key, rp_id, kind):
            ref = {"@odata.type": f"#microsoft.graph.{rel.target_type}", "id": rel.target_id} if rel.target_type else {"id": rel.target_id}
            if prop == "manager":
                result[(source_type, rel.source_id)][prop] = ref
            else:
                result[(source_type, rel.source_id)].setdefault(prop, []).append(ref)
    return result


def _write_type(store, key: str, rp_id: int, object_type: str, navigation: dict, output: Path) -> int:
    count = 0
    with open(output / f"{object_type}.json", "wb") as handle:
        handle.write(b"[")
        for obj in store.iter_objects(key, rp_id, object_type):
            extra = navigation.get((object_type, obj.get("id")))
            handle.write((b",\n" if count else b"\n") + orjson.dumps({**obj, **extra} if extra else obj))
            count += 1
        handle.write(b"\n]\n")
    return count


def tenant_compare(*, tenant, source: PointSpec | None, target: PointSpec | str, types: list[str] | None = None,
                   object_id: str | None = None, include_volatile: bool = False) -> ChangeReport:
    """The change report from restore point `source` to restore point `target`, or to production
    (target == PRODUCTION: the tenant is read live through Graph, nothing is written). `source` None means
    the restore point before `target` (the latest one, against production). Both restore points must be in
    one repository. CompareError, RestorePointNotFoundError or a RepositoryError say why not."""
    with tenant_backups(tenant) as backups:
        if target == PRODUCTION:
            src = backups.find(source or LATEST)
            with backups.reading(src.repository) as store:
                report = _compare_production(tenant, store, src, types, object_id, include_volatile)
            report.source = src.spec
            return report
        dst = backups.find(target)
        src = backups.find(source) if source is not None else backups.previous(dst)
        if src is None:
            raise CompareError(f"Restore point {dst.spec} is the first of its repository: there is nothing before "
                               "it to compare with; choose the restore point to compare from.")
        if dst.repository.pk != src.repository.pk:
            raise CompareError(f"Restore points {src.spec} and {dst.spec} are in different repositories "
                               f"({src.repository.name}, {dst.repository.name}); compare points of one repository.")
        with backups.reading(src.repository) as store:
            report = compare(store, str(tenant.key), src.restore_point.id, dst.restore_point.id, types=types,
                             object_id=object_id, include_volatile=include_volatile)
        report.source, report.target = src.spec, dst.spec
        return report


def _compare_production(tenant, store, src, types, object_id, include_volatile) -> ChangeReport:
    try:
        with tenant_graph_client(tenant) as client:
            return compare(store, str(tenant.key), src.restore_point.id, Production(client), types=types,
                           object_id=object_id, include_volatile=include_volatile)
    except GraphError as exc:
        raise CompareError(f"Production could not be read: {exc}") from None
