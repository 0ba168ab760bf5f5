"""The demo's emulated tenant: a generated Contoso in the Graph emulator, registered in entrabackup.

Only `manage.py demo` (and the tests) use this module; the product never imports the emulator otherwise.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

from entrabackup import graph
from graph_emulator.control import EmulatorControl
from jobs.errors import SessionConflictError
from jobs.models import BackupJob
from jobs.services import job_create, session_create
from tenants import services
from tenants.models import Tenant

DEMO_TENANT_NAME = "Contoso (emulated)"
DEMO_SEED = 2026
DEMO_USERS = 3000
DEMO_ROLES = [
    "Directory.Read.All", "User.Read.All", "Group.Read.All", "Application.Read.All", "Device.Read.All",
    "RoleManagement.Read.Directory", "AdministrativeUnit.Read.All", "Domain.Read.All", "Organization.Read.All",
    "Policy.Read.All", "AuditLog.Read.All", "User.ReadWrite.All", "Group.ReadWrite.All",
    "Application.ReadWrite.All", "RoleManagement.ReadWrite.Directory", "Policy.ReadWrite.ConditionalAccess",
    "AdministrativeUnit.ReadWrite.All", "AppRoleAssignment.ReadWrite.All", "DelegatedPermissionGrant.ReadWrite.All",
]


@dataclass(frozen=True)
class EmulatorInfo:
    url: str
    ca_path: str
    admin_key: str


def wait_for_emulator(ready_file: Path, process, *, timeout: float = 60.0) -> EmulatorInfo:
    """The address of the emulator started by the demo, once it has written its ready file."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"The Graph emulator exited with status {process.returncode} while starting.")
        if ready_file.exists():
            try:
                info = json.loads(ready_file.read_text())
            except ValueError:  # being written
                info = None
            if info:
                key = Path(info["admin_key_path"]).read_text().strip()
                return EmulatorInfo(info["url"], info["ca_path"], key)
        time.sleep(0.1)
    raise RuntimeError(f"The Graph emulator did not start within {timeout:.0f} s.")


def demo_tenant_ensure(emulator: EmulatorInfo) -> tuple[Tenant, dict]:
    """Generate the demo tenant in the emulator (idempotent), register it here, and test the connection."""
    with EmulatorControl(emulator.url, emulator.ca_path, emulator.admin_key) as control:
        info = control.create_tenant(seed=DEMO_SEED, users=DEMO_USERS, licence="P2", name="Contoso")
        tenant = Tenant.objects.filter(name=DEMO_TENANT_NAME).first()
        if tenant is None:
            tenant = _register(control, emulator, info)
        else:
            # The emulator keeps its port across restarts unless the port setting changed, and keeps its
            # state unless var/ was cleaned: either way the tenant is re-pointed only with a new credential.
            moved = tenant.graph_url != emulator.url or tenant.ca_bundle_pem != Path(emulator.ca_path).read_text()
            if moved or not services.tenant_check(tenant=tenant)["ok"]:
                _reconnect(control, emulator, info, tenant)
    return tenant, services.tenant_check(tenant=tenant)


def _register(control, emulator: EmulatorInfo, info: dict) -> Tenant:
    app = control.register_app(info["tenant_id"], roles=DEMO_ROLES, display_name="entrabackup demo")
    return services.tenant_create(
        name=DEMO_TENANT_NAME, directory_id=info["tenant_id"], client_id=app["client_id"],
        credential=graph.ClientSecret(app["client_secret"]), cloud=Tenant.Cloud.CUSTOM,
        authority_url=emulator.url, graph_url=emulator.url, ca_bundle_pem=Path(emulator.ca_path).read_text(),
    )


def _reconnect(control, emulator: EmulatorInfo, info: dict, tenant: Tenant) -> None:
    """A new app registration in the emulator, and the tenant pointed at the emulator with its secret."""
    app = control.register_app(info["tenant_id"], roles=DEMO_ROLES, display_name="entrabackup demo")
    tenant.client_id = app["client_id"]
    services.tenant_set_connection(
        tenant=tenant, credential=graph.ClientSecret(app["client_secret"]), cloud=Tenant.Cloud.CUSTOM,
        directory_id=info["tenant_id"], authority_url=emulator.url, graph_url=emulator.url,
        ca_bundle_pem=Path(emulator.ca_path).read_text(),
    )


def demo_first_backup(tenant: Tenant):
    """A job for the demo tenant (hourly, 30 days) and its first session, queued for the proxy."""
    job = BackupJob.objects.filter(tenant=tenant).first()
    if job is None:
        job = job_create(tenant=tenant, schedule_kind="hours", schedule_value="1", retention_days=30)
    try:
        return session_create(job=job, trigger="demo")
    except SessionConflictError:
        return None
