"""Python client for the emulator's control plane (/_emulator/...)."""

from __future__ import annotations

import ssl

import httpx


def ssl_context(ca_path) -> ssl.SSLContext:
    """TLS context trusting only the emulator CA (httpx deprecates verify=<path>)."""
    return ssl.create_default_context(cafile=str(ca_path))


class EmulatorControlError(RuntimeError):
    pass


class EmulatorControl:
    """EmulatorControl(url, ca_path, admin_key): create tenants, register apps, configure, mutate, export."""

    def __init__(self, url: str, ca_path: str, admin_key: str, timeout: float = 300.0):
        self.url = url.rstrip("/")
        self._client = httpx.Client(verify=ssl_context(ca_path), trust_env=False, timeout=timeout,
                                    headers={"X-Emulator-Key": admin_key.strip()})

    def _call(self, method: str, path: str, body: dict | None = None):
        resp = self._client.request(method, f"{self.url}/_emulator{path}", json=body)
        if resp.status_code >= 400:
            raise EmulatorControlError(f"{method} {path} -> {resp.status_code}: {resp.text[:500]}")
        return resp.json()

    def create_tenant(self, seed: int = 1, users: int = 100, tenant_id: str | None = None, domain: str | None = None,
                      licence: str = "P2", name: str | None = None) -> dict:
        body = {"seed": seed, "users": users, "licence": licence}
        body.update({k: v for k, v in (("tenant_id", tenant_id), ("domain", domain), ("name", name)) if v})
        return self._call("POST", "/tenants", body)

    def list_tenants(self) -> list[dict]:
        return self._call("GET", "/tenants")

    def register_app(self, tenant_id: str, roles: list[str], display_name: str = "entrabackup", secret: bool = True,
                     certificate_pem: str | None = None) -> dict:
        body = {"display_name": display_name, "roles": roles, "secret": secret}
        if certificate_pem:
            body["certificate_pem"] = certificate_pem
        return self._call("POST", f"/tenants/{tenant_id}/apps", body)

    def configure(self, tenant_id: str, **config) -> dict:
        return self._call("PATCH", f"/tenants/{tenant_id}/config", config)

    def mutate(self, tenant_id: str, kind: str, **params) -> dict:
        return self._call("POST", f"/tenants/{tenant_id}/mutations", {"kind": kind, **params})

    def export(self, tenant_id: str) -> dict:
        return self._call("GET", f"/tenants/{tenant_id}/export")

    def close(self) -> None:
        self._client.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
