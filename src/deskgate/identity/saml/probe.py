"""Checks an admin can run on a SAML IdP without a user signing in: its metadata (when it has a URL), the
validity of the certificates it signs with, and whether its SSO URL answers at all.

The same checks back the console's test page and `deskgate idp test`; the certificate warnings also
appear on a test sign-in's result, since a certificate that expires next week still works today.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from deskgate.identity.oidc.probe import Check
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.metadata_source import FETCH_TIMEOUT, fetch, from_metadata
from deskgate.identity.saml.settings import SamlIdpSettings

EXPIRY_WARNING = timedelta(days=30)


def certificate_warnings(saml: SamlIdpSettings, now: datetime) -> list[str]:
    """One sentence per signing certificate that has expired or expires within `EXPIRY_WARNING`."""
    warnings: list[str] = []
    for certificate in saml.certificates():
        subject = certificate.subject.rfc4514_string() or "(no subject)"
        ends = certificate.not_valid_after_utc
        if ends <= now:
            warnings.append(f"The signing certificate {subject} expired on {ends:%Y-%m-%d}.")
        elif ends - now <= EXPIRY_WARNING:
            days = (ends - now).days
            warnings.append(f"The signing certificate {subject} expires on {ends:%Y-%m-%d} (in {days} days).")
    return warnings


def _certificates(saml: SamlIdpSettings, now: datetime) -> Check:
    """Fails only when no certificate is valid today: one still valid during a rollover is enough."""
    certificates = saml.certificates()
    valid = [c for c in certificates if c.not_valid_before_utc <= now < c.not_valid_after_utc]
    warnings = certificate_warnings(saml, now)
    counted = f"{len(valid)} of {len(certificates)} signing certificate(s) valid today"
    return Check("certificates", bool(valid), "; ".join([counted, *warnings]))


async def _metadata(http: httpx.AsyncClient, saml: SamlIdpSettings) -> Check:
    assert saml.metadata_url is not None
    try:
        fresh = from_metadata(await fetch(http, saml.metadata_url), current=saml)
    except SamlRejected as exc:
        return Check("metadata", False, exc.detail)
    changed = set(fresh.signing_certificates) != set(saml.signing_certificates)
    note = " (its certificates differ from the stored ones: the next refresh takes them)" if changed else ""
    return Check("metadata", True, f"read from {saml.metadata_url}{note}")


async def _sso_reachable(http: httpx.AsyncClient, saml: SamlIdpSettings) -> Check:
    """Any HTTP answer proves the host is there; a request without SAMLRequest is expected to be refused."""
    try:
        response = await http.get(saml.sso_url, timeout=FETCH_TIMEOUT, follow_redirects=False)
    except httpx.HTTPError as exc:
        return Check("sso_url", False, f"{saml.sso_url} could not be reached: {type(exc).__name__}: {exc}")
    ok = response.status_code < 500
    return Check("sso_url", ok, f"{saml.sso_url} answered HTTP {response.status_code}")


async def probe(http: httpx.AsyncClient, saml: SamlIdpSettings, now: datetime | None = None) -> list[Check]:
    checks = [await _metadata(http, saml)] if saml.metadata_url else []
    checks.append(_certificates(saml, now or datetime.now(UTC)))
    checks.append(await _sso_reachable(http, saml))
    return checks
