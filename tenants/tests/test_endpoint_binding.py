"""A tenant's credential goes only to the endpoint it was entered for.

An HTTPS listener on 127.0.0.1 (with a CA the attacker uploads as the tenant's CA bundle) answers the
OpenID discovery that msal makes and records every request it receives: the client secret must never be
among them, whatever a staff user without the credential does in the admin or on the pages.
"""

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from entrabackup import graph, vault
from graph_emulator.pki import ensure_pki
from tenants import services
from tenants.errors import TenantValidationError
from tenants.models import Tenant

CLIENT = "11111111-2222-3333-4444-555555555555"
SECRET = "Zq8~the-real-tenant-secret"
# Where the tenant really lives in these tests: a closed port, so a legitimate check fails at once.
HOME = "https://127.0.0.1:9"


class _Recorder(BaseHTTPRequestHandler):
    def _record(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.server.received.append(self.requestline.encode() + b"\n" + bytes(self.headers) + body)

    def _answer(self, status, payload):
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):  # OpenID discovery: point msal's token request at this listener
        self._record()
        base = f"https://127.0.0.1:{self.server.server_address[1]}"
        self._answer(200, {"token_endpoint": f"{base}/token", "authorization_endpoint": f"{base}/authorize",
                           "issuer": f"{base}/v2.0"})

    def do_POST(self):
        self._record()
        self._answer(400, {"error": "invalid_client", "error_description": "listener"})

    def log_message(self, *args):
        pass


@pytest.fixture
def listener(tmp_path):
    """An HTTPS server of the attacker's, trusted through its own CA; `.received` holds what it got."""
    pki = ensure_pki(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.cert_path, pki.key_path)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.received = []
    server.url = f"https://127.0.0.1:{server.server_address[1]}"
    server.ca_pem = pki.ca_path.read_text()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def tenant(db):
    return services.tenant_create(name="Contoso", directory_id="contoso.example", client_id=CLIENT,
                                  credential=graph.ClientSecret(SECRET), cloud="custom",
                                  authority_url=HOME, graph_url=HOME)


@pytest.fixture
def staff(django_user_model):
    """A staff user who is not a superuser: may change tenants and repositories and test connections."""
    user = django_user_model.objects.create_user(username="mallory", password="pw", is_staff=True)
    for codename in ["view_tenant", "change_tenant", "test_connection", "view_repository", "change_repository"]:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def _received(listener) -> bytes:
    return b"\n".join(listener.received)


def test_the_listener_is_an_endpoint_msal_would_send_the_secret_to(listener, db):
    """The trap itself works: a tenant registered (with its secret) for the listener sends the secret there."""
    bait = services.tenant_create(name="Bait", directory_id="bait.example", client_id=CLIENT,
                                  credential=graph.ClientSecret("bait-secret-123"), cloud="custom",
                                  authority_url=listener.url, graph_url=listener.url, ca_bundle_pem=listener.ca_pem)
    services.tenant_check(tenant=bait)
    assert b"client_secret=bait-secret-123" in _received(listener)


def test_a_staff_user_cannot_redirect_the_secret_through_the_admin(client, listener, tenant, staff):
    client.force_login(staff)
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    form = client.get(url).content.decode()
    assert "needs the credential again" in form
    response = client.post(url, {
        "name": "Contoso", "directory_id": "contoso.example", "cloud": "custom", "authority_url": listener.url,
        "graph_url": listener.url, "ca_bundle_pem": listener.ca_pem, "features": json.dumps(services.ALL_FEATURES),
        "_save": "Save",
    })
    assert response.status_code in (200, 302)
    tenant.refresh_from_db()
    assert (tenant.authority_url, tenant.graph_url, tenant.ca_bundle_pem) == (HOME, HOME, "")
    client.post(reverse("tenants:tenant_check", args=[tenant.pk]))
    assert SECRET.encode() not in _received(listener)
    assert listener.received == []


def test_a_staff_user_cannot_redirect_the_secret_through_the_pages(client, listener, tenant, staff):
    client.force_login(staff)
    response = client.post(reverse("tenants:tenant_connection", args=[tenant.pk]), {
        "directory_id": "contoso.example", "cloud": "custom", "authority_url": listener.url,
        "graph_url": listener.url, "ca_bundle_pem": listener.ca_pem, "credential_kind": "secret", "client_secret": "",
    })
    assert response.status_code == 200
    assert "Enter the client secret" in response.content.decode()
    tenant.refresh_from_db()
    assert tenant.authority_url == HOME
    page = client.post(reverse("tenants:tenant_check", args=[tenant.pk])).content.decode()
    assert "Cannot connect" in page
    assert listener.received == []


def test_a_secret_kept_across_an_endpoint_change_behind_the_products_back_does_not_open(client, listener, tenant, staff):
    Tenant.objects.filter(pk=tenant.pk).update(authority_url=listener.url, graph_url=listener.url,
                                                ca_bundle_pem=listener.ca_pem)
    client.force_login(staff)
    page = client.post(reverse("tenants:tenant_check", args=[tenant.pk])).content.decode()
    assert "Cannot connect" in page and "another endpoint" in page
    assert SECRET not in page
    assert listener.received == []
    tenant.refresh_from_db()
    with pytest.raises(vault.VaultError, match="another endpoint") as caught:
        services.tenant_credential(tenant)
    assert SECRET not in str(caught.value)


def test_changing_the_endpoint_with_the_credential_entered_again_works(client, listener, tenant, staff):
    client.force_login(staff)
    response = client.post(reverse("tenants:tenant_connection", args=[tenant.pk]), {
        "directory_id": "contoso.example", "cloud": "custom", "authority_url": listener.url,
        "graph_url": listener.url, "ca_bundle_pem": listener.ca_pem, "credential_kind": "secret",
        "client_secret": "a-new-secret-for-the-new-endpoint",
    })
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.authority_url == listener.url and tenant.check_status == Tenant.CheckStatus.NEVER
    assert services.tenant_credential(tenant).msal_credential() == "a-new-secret-for-the-new-endpoint"


def test_a_sealed_credential_moved_to_another_tenant_does_not_open(db):
    one = services.tenant_create(name="One", directory_id="one.example", client_id=CLIENT,
                                 credential=graph.ClientSecret("secret-of-one"))
    two = services.tenant_create(name="Two", directory_id="two.example", client_id=CLIENT,
                                 credential=graph.ClientSecret("secret-of-two"))
    Tenant.objects.filter(pk=two.pk).update(sealed_credential=one.sealed_credential)
    two.refresh_from_db()
    with pytest.raises(vault.VaultError, match="another row or another endpoint") as caught:
        services.tenant_credential(two)
    assert "secret-of-one" not in str(caught.value)
    assert services.tenant_credential(one).msal_credential() == "secret-of-one"


def test_the_connection_service_needs_the_credential_and_the_endpoint_together(tenant):
    with pytest.raises(TypeError):
        services.tenant_set_connection(tenant=tenant, cloud="global", directory_id="contoso.example",
                                       authority_url="", graph_url="", ca_bundle_pem="")
    with pytest.raises(TenantValidationError, match="https"):
        services.tenant_set_connection(tenant=tenant, credential=graph.ClientSecret("new"), cloud="custom",
                                       directory_id="contoso.example", authority_url="http://x.example",
                                       graph_url="https://x.example", ca_bundle_pem="")
    tenant.refresh_from_db()
    assert services.tenant_credential(tenant).msal_credential() == SECRET
    services.tenant_set_connection(tenant=tenant, credential=graph.ClientSecret("new"), cloud="global",
                                   directory_id="contoso.example", authority_url="", graph_url="", ca_bundle_pem="")
    tenant.refresh_from_db()
    assert tenant.cloud == "global" and services.tenant_credential(tenant).msal_credential() == "new"


def test_changing_the_endpoint_behind_the_services_back_is_refused_on_save(tenant):
    """A caller that edits the fields and saves (the old admin path) gets a credential that no longer opens."""
    tenant.graph_url = "https://graph.attacker.example"
    tenant.save()
    with pytest.raises(vault.VaultError):
        services.tenant_credential(tenant)
