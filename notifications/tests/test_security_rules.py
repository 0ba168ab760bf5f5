"""The security findings' rules on single changes (no repository): what counts as a weakened Conditional
Access policy or an added credential, and what does not."""

from notifications.security import CA_WEAKENED, CREDENTIAL_ADDED, _credentials, _policy
from restore.compare import ObjectChange

POLICY = {"state": "enabled", "grantControls": {"operator": "AND", "builtInControls": ["mfa", "compliantDevice"]},
          "conditions": {"users": {"includeUsers": ["All"], "excludeGroups": ["g1"]},
                         "applications": {"includeApplications": ["All"]}}}


def _changed(object_type, old, new):
    return ObjectChange(object_type, "id-1", "Require MFA", "changed", old=old, new=new)


def _with(**changes):
    new = {**POLICY, **changes}
    return _policy(_changed("conditionalAccessPolicy", POLICY, new))


def test_policy_switched_to_report_only_loses_a_control_or_gains_an_exclusion_is_one_finding_each():
    [off] = _with(state="enabledForReportingButNotEnforced")
    assert off.kind == CA_WEAKENED and off.title == "Conditional Access policy disabled: Require MFA"
    [grant] = _with(grantControls={"operator": "OR", "builtInControls": ["mfa", "compliantDevice"]})
    assert grant.details == ["grant controls changed from all required (AND) to any one (OR)"]
    [fewer] = _with(grantControls={"operator": "AND", "builtInControls": ["compliantDevice"]})
    assert fewer.details == ["grant controls removed: mfa"]
    users = {"includeUsers": ["All"], "excludeGroups": ["g1", "g2"], "excludeUsers": ["u9"]}
    [wider] = _with(conditions={**POLICY["conditions"], "users": users})
    assert wider.details == ["users.excludeUsers: 1 added", "users.excludeGroups: 1 added"]
    assert wider.title == "Conditional Access policy weakened: Require MFA"


def test_a_stricter_policy_or_a_renamed_one_is_no_finding():
    assert _with(displayName="Require MFA (all users)") == []
    assert _with(grantControls={"operator": "AND", "builtInControls": ["mfa", "compliantDevice", "domainJoinedDevice"]}) == []
    users = {"includeUsers": ["All"], "excludeGroups": []}
    assert _with(conditions={**POLICY["conditions"], "users": users}) == []  # an exclusion removed: stricter
    assert _policy(_changed("conditionalAccessPolicy", {**POLICY, "state": "disabled"}, {**POLICY, "state": "enabled"})) == []


def test_a_credential_gained_by_a_service_principal_is_a_finding_and_one_removed_is_not():
    old = {"passwordCredentials": [{"keyId": "k1"}], "keyCredentials": []}
    new = {"passwordCredentials": [{"keyId": "k1"}], "keyCredentials": [{"keyId": "k2", "displayName": "cert"}]}
    [finding] = _credentials(_changed("servicePrincipal", old, new))
    assert finding.kind == CREDENTIAL_ADDED and finding.details == ["keyCredentials: cert (keyId k2)"]
    assert finding.title == "Credential added to a service principal: Require MFA"
    assert _credentials(_changed("application", new, old)) == []
