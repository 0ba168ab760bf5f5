"""What the dashboard shows a user: only tenants and proxies that user may see."""

from dataclasses import dataclass

from jobs.selectors import ProxyStatus, proxies_visible_to
from tenants.models import Tenant
from tenants.selectors import tenants_with_warnings


@dataclass(frozen=True)
class Dashboard:
    tenants: list[tuple[Tenant, str | None]]
    proxies: list[ProxyStatus]

    @property
    def tenants_ready(self) -> int:
        return sum(1 for tenant, _ in self.tenants if tenant.check_status == "ok")

    @property
    def warnings(self) -> list[tuple[Tenant, str]]:
        return [(tenant, warning) for tenant, warning in self.tenants if warning]


def dashboard_for(user) -> Dashboard:
    return Dashboard(tenants=tenants_with_warnings(user), proxies=proxies_visible_to(user))
