"""Registering tenants, keeping their credentials sealed, and checking that they can be used."""

import hashlib
import logging
import re
import uuid
from contextlib import nullcontext
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables

from entrabackup import graph, vault
from entrabackup.graph import permissions
from tenants.errors import CredentialError, TenantNotReadyError, TenantValidationError
from tenants.models import Tenant

logger = logging.getLogger(__name__)
_PURPOSE = vault.purpose_of(Tenant, "sealed_credential")

Credential = graph.ClientSecret | graph.ClientCertificate
ALL_FEATURES = [choice.value for choice in Tenant.Feature]
# Least privilege: a new tenant is not asked for write permissions until restores are chosen for it.
DEFAULT_FEATURES = [feature for feature in ALL_FEATURES if feature != Tenant.Feature.RESTORE]
_DOMAIN = re.compile(r"^(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.+?-----END \1-----", re.S)


def directory_id_normalise(value: str) -> str:
    """A tenant id as Entra accepts it in an authority: a GUID (lower case) or a verified domain."""
    text = (value or "").strip().lower()
    try:
        return str(uuid.UUID(text))
    except ValueError:
        pass
    if _DOMAIN.match(text):
        return text
    shown = f"{(value or '')[:40]!r}{'…' if len(value or '') > 40 else ''}"  # not all of a hostile input
    raise TenantValidationError(
        f"{shown} is neither a directory (tenant) ID (a GUID) nor a domain name such as contoso.onmicrosoft.com."
    )


@sensitive_variables("data", "password", "key", "blocks")
def certificate_from_upload(data: bytes, password: str | None = None) -> graph.ClientCertificate:
    """A certificate credential from an uploaded PEM (key and certificate in one file) or PFX/PKCS#12 file."""
    try:
        if b"-----BEGIN" not in data:
            return graph.load_pfx(data, password)
        blocks = {match.group(1).decode(): match.group(0) for match in _PEM_BLOCK.finditer(data)}
        key = next((pem for label, pem in blocks.items() if label.endswith("PRIVATE KEY")), None)
        cert = blocks.get("CERTIFICATE")
        if key is None or cert is None:
            raise CredentialError("The PEM file must contain both the private key and the certificate.")
        return graph.load_pem(key, cert, password)
    except (ValueError, TypeError) as exc:
        # cryptography's messages name parsing details only, never key material.
        raise CredentialError(f"The certificate cannot be used: {exc}") from None


@transaction.atomic
def tenant_create(
    *,
    name: str,
    directory_id: str,
    client_id: str,
    credential: Credential,
    cloud: str = Tenant.Cloud.GLOBAL,
    authority_url: str = "",
    graph_url: str = "",
    ca_bundle_pem: str = "",
    features: list[str] | None = None,
    secret_expires_at: datetime | None = None,
) -> Tenant:
    """Register a tenant. The credential is sealed before it reaches the database, bound to this tenant and
    to its endpoint (cloud, directory, URLs, CA bundle)."""
    tenant = Tenant(
        name=name.strip(),
        directory_id=directory_id_normalise(directory_id),
        client_id=_client_id(client_id),
        cloud=cloud,
        features=_features(features),
        **_endpoints(cloud, authority_url, graph_url, ca_bundle_pem),
    )
    _check_unique(tenant)
    _set_credential(tenant, credential, secret_expires_at)
    try:
        with transaction.atomic():
            tenant.save()
    except IntegrityError:  # registered by someone else since the check: the same check says which value
        _check_unique(tenant)
        raise TenantValidationError(f"Tenant {tenant.name!r} was registered at the same moment elsewhere.") from None
    logger.info("Tenant %s registered (%s credential)", tenant.name, tenant.credential_type)
    return tenant


def _check_unique(tenant: Tenant) -> None:
    """A TenantValidationError when the name, or the directory in that cloud, is already registered."""
    if not tenant.name or len(tenant.name) > Tenant._meta.get_field("name").max_length or not tenant.name.isprintable():
        raise TenantValidationError("A tenant name is 1 to 100 printable characters.")
    if Tenant.objects.filter(name__iexact=tenant.name).exists():
        raise TenantValidationError(f"A tenant named {tenant.name!r} is already registered.")
    existing = Tenant.objects.filter(directory_id__iexact=tenant.directory_id, cloud=tenant.cloud).first()
    if existing is not None:
        raise TenantValidationError(f"The directory {tenant.directory_id} ({tenant.cloud} cloud) is already "
                                    f"registered as tenant {existing.name!r}.")


def tenant_set_credential(*, tenant: Tenant, credential: Credential, secret_expires_at: datetime | None = None) -> Tenant:
    """Replace the tenant's credential (for example a secret about to expire); its last check is reset.

    The new credential is bound to the endpoint the tenant has now; to change the endpoint as well, use
    `tenant_set_connection`.
    """
    _set_credential(tenant, credential, secret_expires_at)
    _reset_check(tenant)
    tenant.save()
    return tenant


@transaction.atomic
def tenant_set_connection(
    *,
    tenant: Tenant,
    credential: Credential,
    cloud: str,
    directory_id: str,
    authority_url: str,
    graph_url: str,
    ca_bundle_pem: str,
    secret_expires_at: datetime | None = None,
) -> Tenant:
    """Point the tenant at another cloud, directory, authority or Graph URL or CA bundle.

    Only together with its credential entered again: the credential is sealed for the new endpoint, so
    nobody can send the stored one somewhere else. Nothing changes when a value is invalid.
    """
    endpoint = {"cloud": cloud, "directory_id": directory_id_normalise(directory_id),
                **_endpoints(cloud, authority_url, graph_url, ca_bundle_pem)}
    _refuse_registered_directory(Tenant(pk=tenant.pk, **endpoint))
    for field, value in endpoint.items():
        setattr(tenant, field, value)
    _set_credential(tenant, credential, secret_expires_at)
    _reset_check(tenant)
    tenant.save()
    logger.info("Tenant %s re-pointed to cloud %s with a new credential", tenant.name, tenant.cloud)
    return tenant


def tenant_generate_certificate(*, tenant_name: str) -> graph.GeneratedCertificate:
    """A new self-signed certificate for an app registration (upload its public part to Entra)."""
    return graph.generate_self_signed(common_name=f"entrabackup {tenant_name}"[:64])


@sensitive_variables("value")
def tenant_credential(tenant: Tenant) -> Credential:
    """The tenant's credential, unsealed for the Graph client only (never logged or rendered)."""
    value = vault.unseal(tenant.sealed_credential, purpose=_PURPOSE, binding=tenant.vault_binding())
    if tenant.credential_type == Tenant.CredentialType.SECRET:
        return graph.ClientSecret(value)
    return graph.ClientCertificate(value, tenant.certificate_pem)


def tenant_cloud(tenant: Tenant) -> graph.Cloud:
    """Where the tenant's tokens and Graph live; a custom CA bundle is written to var/ca/ for the clients."""
    if tenant.cloud != Tenant.Cloud.CUSTOM:
        return graph.get_cloud(tenant.cloud)
    return graph.custom_cloud(tenant.authority_url, tenant.graph_url, _ca_bundle_file(tenant.ca_bundle_pem))


def tenant_graph_client(tenant: Tenant, **options) -> graph.GraphClient:
    """A Graph client for the tenant (the caller closes it, or uses it as a context manager)."""
    return graph.GraphClient(tenant_cloud(tenant), tenant.directory_id, str(tenant.client_id), tenant_credential(tenant), **options)


def credential_expiry_warning(tenant: Tenant, *, now: datetime | None = None) -> str | None:
    """A warning when the credential expires within ENTRABACKUP_CREDENTIAL_WARN_DAYS (or has expired)."""
    if tenant.credential_expires_at is None:
        return None
    now = now or timezone.now()
    left = tenant.credential_expires_at - now
    kind = Tenant.CredentialType(tenant.credential_type).label.lower()
    if left <= timedelta(0):
        return f"The {kind} expired on {tenant.credential_expires_at:%Y-%m-%d}: backups fail until it is replaced."
    if left <= timedelta(days=settings.CREDENTIAL_WARN_DAYS):
        return f"The {kind} expires on {tenant.credential_expires_at:%Y-%m-%d} ({left.days} days): replace it before then."
    return None


def _set_credential(tenant: Tenant, credential: Credential, secret_expires_at: datetime | None) -> None:
    """Seal the credential for the tenant's current endpoint (set the endpoint first)."""
    binding = tenant.vault_binding()
    if isinstance(credential, graph.ClientSecret):
        tenant.credential_type = Tenant.CredentialType.SECRET
        tenant.sealed_credential = vault.seal(credential.msal_credential(), purpose=_PURPOSE, binding=binding)
        tenant.certificate_pem, tenant.certificate_thumbprint = "", ""
        tenant.credential_expires_at = secret_expires_at
    else:
        tenant.credential_type = Tenant.CredentialType.CERTIFICATE
        tenant.sealed_credential = vault.seal(credential.msal_credential()["private_key"], purpose=_PURPOSE,
                                              binding=binding)
        tenant.certificate_pem = credential.certificate_pem
        tenant.certificate_thumbprint = credential.thumbprint_sha1
        tenant.credential_expires_at = credential.not_after
    tenant.credential_updated_at = timezone.now()


def _reset_check(tenant: Tenant) -> None:
    tenant.check_status, tenant.checked_at, tenant.check_report = Tenant.CheckStatus.NEVER, None, {}


def _refuse_registered_directory(tenant: Tenant) -> None:
    others = Tenant.objects.exclude(pk=tenant.pk).filter(cloud=tenant.cloud, directory_id__iexact=tenant.directory_id)
    if others.exists():
        raise TenantValidationError(
            f"The directory {tenant.directory_id} ({Tenant.Cloud(tenant.cloud).label}) is already registered "
            f"as tenant {others.first().name!r}."
        )


def _client_id(value: str) -> uuid.UUID:
    text = str(value).strip()
    try:
        return uuid.UUID(text)
    except ValueError:
        shown = f"{text[:40]!r}{'…' if len(text) > 40 else ''}"  # not all of a hostile input
        raise TenantValidationError(f"{shown} is not an application (client) ID: it must be a GUID.") from None


def _features(features: list[str] | None) -> list[str]:
    chosen = list(features) if features else list(DEFAULT_FEATURES)
    unknown = sorted(set(chosen) - set(ALL_FEATURES))
    if unknown:
        raise TenantValidationError(f"Unknown feature(s) {', '.join(unknown)}; choose from {', '.join(ALL_FEATURES)}.")
    return [feature for feature in ALL_FEATURES if feature in chosen]


def _endpoints(cloud: str, authority_url: str, graph_url: str, ca_bundle_pem: str) -> dict:
    if cloud not in Tenant.Cloud.values:
        raise TenantValidationError(f"Unknown cloud {cloud!r}; choose one of {', '.join(Tenant.Cloud.values)}.")
    if cloud != Tenant.Cloud.CUSTOM:
        if authority_url or graph_url:
            raise TenantValidationError("Authority and Graph URLs are only for a custom cloud.")
        return {"authority_url": "", "graph_url": "", "ca_bundle_pem": ca_bundle_pem}
    try:
        graph.custom_cloud(authority_url, graph_url)
    except ValueError as exc:
        raise TenantValidationError(str(exc)) from None
    if ca_bundle_pem and b"-----BEGIN CERTIFICATE-----" not in ca_bundle_pem.encode():
        raise TenantValidationError("The CA bundle must hold PEM certificates (-----BEGIN CERTIFICATE-----).")
    return {"authority_url": authority_url.rstrip("/"), "graph_url": graph_url.rstrip("/"), "ca_bundle_pem": ca_bundle_pem}


def _ca_bundle_file(pem: str) -> str | None:
    """Content-addressed copy of a CA bundle on this host (web server and proxies may be on different hosts)."""
    if not pem:
        return None
    path = settings.VAR_DIR / "ca" / f"{hashlib.sha256(pem.encode()).hexdigest()[:16]}.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(pem)
        tmp.replace(path)
    return str(path)


def tenant_preflight(*, tenant: Tenant, features: list[str], client: graph.GraphClient | None = None) -> None:
    """Fail early, with the reason and what to do, when the tenant cannot be used for `features`."""
    report = tenant_check(tenant=tenant, features=features, client=client)
    if not report["ok"]:
        raise TenantNotReadyError(report["summary"])


def tenant_check(*, tenant: Tenant, features: list[str] | None = None, client: graph.GraphClient | None = None) -> dict:
    """Test the connection: token, granted permissions per feature, licence; store and return the report.

    With `client` (a session's own), its token and connections serve the check too; it is left open.
    """
    features = _features(features or tenant.features)
    report = {"features": features, "granted": [], "missing": {}, "licence": "not checked", "organization": None}
    try:
        with nullcontext(client) if client else tenant_graph_client(tenant, max_retries=2) as client:
            report["granted"] = sorted(client.token_claims().roles)
            report["missing"] = permissions.missing_permissions(report["granted"], features)
            report["organization"] = _organization(client, report["granted"])
            if "log_backup" in features and "log_backup" not in report["missing"]:
                report["licence"] = _licence(client)
    except (graph.GraphError, vault.VaultError) as exc:
        report["error"] = str(exc)
    return _record_check(tenant, report)


def _organization(client: graph.GraphClient, granted: list[str]) -> dict | None:
    if not permissions.is_satisfied("Organization.Read.All", granted):
        return None
    orgs = client.get("/organization", params={"$select": "id,displayName"}).get("value", [])
    return {"id": orgs[0]["id"], "displayName": orgs[0].get("displayName")} if orgs else None


def _licence(client: graph.GraphClient) -> str:
    """Sign-in logs need Entra ID P1 or P2; one sign-in read tells (https://learn.microsoft.com/graph/api/signin-list)."""
    try:
        client.get("/auditLogs/signIns", params={"$top": "1"})
    except graph.LicenceRequiredError:
        return "missing"
    return "P1 or P2"


def _record_check(tenant: Tenant, report: dict) -> dict:
    labels = dict(Tenant.Feature.choices)
    problems = [f"{labels[f]} needs {', '.join(p)}" for f, p in report["missing"].items()]
    if report.get("error"):
        status, summary = Tenant.CheckStatus.FAILED, f"Cannot connect: {report['error']}"
    elif problems or report["licence"] == "missing":
        if report["licence"] == "missing":
            problems.append("sign-in log backup needs an Entra ID P1 or P2 licence in the tenant")
        status = Tenant.CheckStatus.INCOMPLETE
        summary = "Missing: " + "; ".join(problems) + ". " + permissions.grant_instructions(report["missing"], str(tenant.client_id))
    else:
        status = Tenant.CheckStatus.OK
        summary = "Ready: " + ", ".join(labels[f] for f in report["features"]) + " can run."
    report.update(ok=status == Tenant.CheckStatus.OK, status=status.value, summary=summary,
                  missing_labelled=[[labels[f], p] for f, p in report["missing"].items()])
    tenant.check_status, tenant.checked_at, tenant.check_report = status, timezone.now(), report
    tenant.save(update_fields=["check_status", "checked_at", "check_report", "updated_at"])
    return report
