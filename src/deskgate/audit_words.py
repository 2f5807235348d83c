"""Every audit event code Deskgate records, in words for the console (the codes stay in the log and CSV).

A test (tests/unit/test_audit_words.py) reads the source for every code passed to the audit log and fails
when one has no words here.
"""

from __future__ import annotations

EVENT_WORDS: dict[str, str] = {
    "login": "Customer sign-in",
    "login.test": "Test sign-in",
    "logout.rp": "Sign-out from the portal",
    "logout.frontchannel": "Sign-out sent by the IdP (front-channel)",
    "logout.backchannel": "Sign-out sent by the IdP (back-channel)",
    "portal.submission": "Request refused by Jira",
    "portal.comment": "Comment refused by Jira",
    "portal.share": "Request shared by a customer",
    "portal.leave": "Customer stopped taking part in a request",
    "portal.transition": "Request moved by a customer",
    "jsm.firewall": "Jira call refused by the firewall",
    "admin.login": "Admin sign-in",
    "admin.logout": "Admin sign-out",
    "admin.setup": "First admin created",
    "admin.session.end": "Admin sessions ended",
    "admin.idp.create": "Identity provider added",
    "admin.idp.update": "Identity provider changed",
    "admin.idp.delete": "Identity provider deleted",
    "admin.idp.enable": "Identity provider enabled",
    "admin.idp.disable": "Identity provider disabled",
    "admin.idp.live": "Identity provider out of draft",
    "admin.idp.metadata": "IdP signing certificates changed by its metadata",
    "admin.idp.reorder": "Identity providers reordered",
    "admin.saml_keys.create": "SAML service provider key created",
    "admin.saml_keys.rotate": "SAML service provider key added for rotation",
    "admin.saml_keys.promote": "SAML service provider key promoted",
    "admin.saml_keys.retire": "SAML service provider key retired",
    "admin.idp.mapping": "Attribute mapping changed",
    "admin.idp.filters": "User filters changed",
    "admin.idp.admin_access": "Admin sign-in through an IdP changed",
    "admin.sessions.revoke": "Session revoked",
    "admin.sessions.revoke_user": "All sessions of a user revoked",
    "admin.sessions.block": "User blocked",
    "admin.sessions.unblock": "User unblocked",
    "admin.audit.export": "Audit log exported",
    "admin.backup.export": "Configuration exported",
    "admin.backup.import": "Configuration imported",
    "admin.jira.connect": "Jira connection changed",
    "admin.jira.check": "Jira connection checked",
    "admin.jira.desk": "Service desk settings changed",
    "admin.login_page.update": "Login page changed",
    "admin.deliveries.retry": "Delivery retried",
    "admin.deliveries.cancel": "Delivery cancelled",
}

OUTCOME_WORDS: dict[str, str] = {"success": "succeeded", "refused": "refused", "failure": "failed"}


def event_words(code: str) -> str:
    """The words for an event code; an unknown code (one an older or newer version wrote) as it is."""
    return EVENT_WORDS.get(code, code)


def outcome_words(outcome: str) -> str:
    return OUTCOME_WORDS.get(outcome, outcome)
