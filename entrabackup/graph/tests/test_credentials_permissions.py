"""Certificates, permission checks, property sets, clouds, errors and stats."""

import dataclasses
import datetime as dt
import threading

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from entrabackup import objecttypes
from entrabackup.graph import (
    CLOUDS,
    ClientCertificate,
    GraphStats,
    PermissionDeniedError,
    custom_cloud,
    excluded_for,
    generate_self_signed,
    get_cloud,
    grant_instructions,
    list_params,
    load_pem,
    load_pfx,
    missing_permissions,
    select_for,
)
from entrabackup.graph.permissions import FEATURES, SATISFIED_BY, permission_for


@pytest.fixture(scope="module")
def generated():
    return generate_self_signed("entrabackup-test")


def test_generated_certificate_is_rsa_2048_valid_two_years(generated):
    cert = ClientCertificate(generated.private_key_pem, generated.certificate_pem)
    days = (cert.not_after - dt.datetime.now(dt.UTC)).days
    assert 728 <= days <= 730
    assert len(generated.thumbprint_sha1) == 40 and len(generated.thumbprint_sha256) == 64
    key = serialization.load_pem_private_key(generated.private_key_pem.encode(), None)
    assert key.key_size == 2048


def test_certificate_msal_forms(generated):
    modern = generated.credential().msal_credential()
    assert set(modern) == {"private_key", "public_certificate"}
    legacy = ClientCertificate(generated.private_key_pem, generated.certificate_pem, use_sha1_thumbprint=True)
    assert legacy.msal_credential()["thumbprint"] == generated.thumbprint_sha1


def test_reprs_never_show_the_private_key(generated):
    for text in (repr(generated), repr(generated.credential()), str(generated.credential())):
        assert "PRIVATE KEY" not in text and generated.thumbprint_sha1 in text


def test_load_encrypted_pem_and_pfx(generated):
    key = serialization.load_pem_private_key(generated.private_key_pem.encode(), None)
    encrypted = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.BestAvailableEncryption(b"pw"))
    assert load_pem(encrypted, generated.certificate_pem, "pw").thumbprint_sha1 == generated.thumbprint_sha1
    with pytest.raises(ValueError, match="missing password"):
        load_pem(encrypted, generated.certificate_pem)
    cert = x509.load_pem_x509_certificate(generated.certificate_pem.encode())
    pfx = pkcs12.serialize_key_and_certificates(b"x", key, cert, None, serialization.BestAvailableEncryption(b"pw"))
    assert load_pfx(pfx, "pw").thumbprint_sha1 == generated.thumbprint_sha1
    with pytest.raises(ValueError, match="wrong password"):
        load_pfx(pfx, "bad")


def test_key_must_match_the_certificate(generated):
    other = generate_self_signed("other")
    with pytest.raises(ValueError, match="does not belong"):
        ClientCertificate(other.private_key_pem, generated.certificate_pem)


def test_directory_read_all_covers_most_of_directory_backup():
    missing = missing_permissions(["Directory.Read.All"])
    assert missing["directory_backup"] == ["Policy.Read.All"]  # CA and auth-method policies
    assert missing["log_backup"] == ["AuditLog.Read.All"]
    assert "Policy.Read.All" in missing["conditional_access"]


# Policies are not directory objects: Directory.Read.All does not read them (conditionalaccessroot-list-policies,
# authenticationmethodspolicy-get list Policy.Read.All and higher Policy.* permissions only).
NOT_DIRECTORY_READ = {"Policy.Read.All"}


def unsatisfied_registry_permissions(types) -> list[str]:
    """Read permissions of registry types that SATISFIED_BY (hand-written) does not know, or for which it does not
    list Directory.Read.All, which reads every directory object."""
    wrong = []
    for t in types:
        p = t.permission
        if p not in SATISFIED_BY:
            wrong.append(f"{t.name}: {p} has no SATISFIED_BY entry")
        elif p != "Directory.Read.All" and p not in NOT_DIRECTORY_READ and "Directory.Read.All" not in SATISFIED_BY[p]:
            wrong.append(f"{t.name}: SATISFIED_BY[{p!r}] lacks Directory.Read.All")
    return wrong


def test_every_registry_permission_is_in_satisfied_by_with_directory_read_all():
    assert unsatisfied_registry_permissions(objecttypes.TYPES) == []
    # every permission a feature asks for: one without an entry would count only when granted by its exact name
    assert [p for needed in FEATURES.values() for p in needed if p not in SATISFIED_BY] == []


def test_a_registry_type_with_an_unknown_permission_fails_the_check():
    new = dataclasses.replace(objecttypes.BY_NAME["domain"], name="newType", permission="NewType.Read.All")
    assert unsatisfied_registry_permissions([*objecttypes.TYPES, new]) == [
        "newType: NewType.Read.All has no SATISFIED_BY entry"]


def test_least_privileged_set_satisfies_backup_features():
    roles = [*FEATURES["directory_backup"], "AuditLog.Read.All"]
    assert set(missing_permissions(roles)) == {"restore"}


def test_readwrite_satisfies_read():
    assert "directory_backup" not in missing_permissions(
        ["User.ReadWrite.All", "Group.ReadWrite.All", "Application.ReadWrite.All", "RoleManagement.ReadWrite.Directory",
         "AdministrativeUnit.ReadWrite.All", "Device.ReadWrite.All", "Domain.ReadWrite.All",
         "Organization.ReadWrite.All", "Directory.ReadWrite.All", "Policy.ReadWrite.ConditionalAccess"])


def test_grant_instructions_list_what_to_add():
    text = grant_instructions(missing_permissions([], ["log_backup"]), "entrabackup")
    assert "AuditLog.Read.All" in text and "Grant admin consent" in text and "entrabackup" in text
    assert grant_instructions({}) == "All needed permissions are granted."


@pytest.mark.parametrize(
    ("method", "path", "needed"),
    [("GET", "users", ["User.Read.All"]), ("PATCH", "users/1", ["User.ReadWrite.All"]),
     ("GET", "identity/conditionalAccess/policies", ["Policy.Read.All"]),
     ("POST", "identity/conditionalAccess/policies", ["Policy.ReadWrite.ConditionalAccess"]),
     ("GET", "auditLogs/signIns", ["AuditLog.Read.All", "Directory.Read.All"]), ("GET", "somethingElse", [])],
)
def test_permission_for_endpoint(method, path, needed):
    assert permission_for(method, tuple(path.split("/"))) == needed


def test_permission_error_without_known_permission_still_has_a_hint():
    assert "API permissions" in PermissionDeniedError("x").hint


def test_user_select_leaves_out_what_collections_refuse():
    select = select_for("user")
    for prop in ("aboutMe", "birthday", "skills", "mailboxSettings", "signInActivity"):
        assert prop not in select and prop in excluded_for("user")
    for prop in ("id", "accountEnabled", "onPremisesImmutableId", "proxyAddresses", "employeeOrgData"):
        assert prop in select
    assert "manager" not in select  # navigation properties are never selected


def test_group_select_leaves_out_single_get_only_and_never_returned():
    select = select_for("group")
    for prop in ("allowExternalSenders", "unseenCount", "hasMembersWithLicenseErrors", "isSubscribedByMail"):
        assert prop not in select
    assert "membershipRule" in select and "assignedLicenses" in select


def test_list_params_and_polymorphic_named_locations():
    assert list_params("user")["$top"] == "999"
    # Polymorphic: no $select (each subtype has its own properties); Conditional Access asks for its largest page.
    assert list_params("namedLocation") == {"$top": "999"}
    assert list_params("signIn")["$top"] == "1000"
    with pytest.raises(ValueError):
        select_for("nope")


def test_clouds():
    assert CLOUDS["global"].scope == "https://graph.microsoft.com/.default"
    assert CLOUDS["usgov-dod"].graph_url == "https://dod-graph.microsoft.us"
    assert CLOUDS["china"].is_microsoft_authority
    emu = custom_cloud("https://127.0.0.1:8443/", "https://127.0.0.1:8443", "/tmp/ca.pem")
    assert not emu.is_microsoft_authority and emu.authority("t1") == "https://127.0.0.1:8443/t1"
    assert emu.scope == "https://graph.microsoft.com/.default"  # the global cloud reached elsewhere
    assert custom_cloud("https://a.test", "https://g.test", graph_resource=None).scope == "https://g.test/.default"
    with pytest.raises(ValueError, match="https"):
        custom_cloud("http://127.0.0.1:8000", "https://x")
    with pytest.raises(ValueError, match="Unknown cloud"):
        get_cloud("mars")


def test_stats_are_thread_safe_and_mergeable():
    stats = GraphStats()
    threads = [threading.Thread(target=lambda: [stats.add(requests=1, bytes_received=10) for _ in range(1000)])
               for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other = GraphStats(retries=2, wait_seconds_backoff=1.5)
    stats.merge(other)
    assert stats.as_dict()["requests"] == 4000 and stats.bytes_received == 40000
    assert stats.retries == 2 and stats.wait_seconds_backoff == 1.5
    with pytest.raises(AttributeError):
        stats.add(nope=1)


def test_error_text_has_hint_and_request_id():
    error = PermissionDeniedError("GET /users failed", status=403, code="Authorization_RequestDenied",
                                  request_id="r-1", needed=["User.Read.All"])
    text = str(error)
    assert "HTTP 403" in text and "r-1" in text and "User.Read.All" in text
    assert repr(error).startswith("PermissionDeniedError(status=403")
