"""Test connection: an admin's real login whose result is shown to the admin, never turned into a session."""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import DeskgateError, LoginDenied, NotFound, new_error_id
from deskgate.identity.claims import Claims
from deskgate.identity.oidc.client import LoginResult
from deskgate.identity.oidc.probe import Check
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml.probe import certificate_warnings
from deskgate.login.diagnosis import explain
from deskgate.login.pipeline import preview, session_attributes
from deskgate.store.models import ConnectionTestRow


def success_result(config: ProviderConfig, result: LoginResult) -> dict[str, Any]:
    """What the result page shows; `warnings` holds diagnoses of problems a working sign-in still has."""
    user, verdict = preview(config, result.claims)
    warnings: list[dict[str, str]] = []
    if not user.email:
        # The sign-in worked, but the portal finds customers by email: it would refuse every one of them.
        warning = explain("missing_email")
        if "email" not in config.scopes:
            missing = f"{warning.explanation} This IdP does not request the `email` scope."
            warning = replace(warning, explanation=missing)
        warnings.append(warning.as_dict())
    if not verdict.allowed:
        warnings.append(explain(verdict.rule, verdict.reason).as_dict())
    return {
        "ok": True,
        "subject": result.claims.subject,
        "id_token_claims": dict(result.claims.id_token),
        "userinfo_claims": dict(result.claims.userinfo),
        "mapped": session_attributes(user),
        "verdict": {"allowed": verdict.allowed, "rule": verdict.rule, "reason": verdict.reason},
        "warnings": warnings,
    }


def saml_success_result(config: ProviderConfig, claims: Claims, now: datetime) -> dict[str, Any]:
    """A SAML test's result: the assertion as decoded (issuer, NameID and its format, the attributes as
    sent), then what OIDC's shows (mapped user, verdict, warnings), with the signing certificates that
    expire soon or have expired among the warnings."""
    result = success_result(config, LoginResult(claims=claims, id_token=None))
    # Each attribute under its Name and FriendlyName, and the well-known ones under OIDC's names too.
    attributes = {k: v for k, v in claims.raw.items() if k not in ("sub", "name_id", "name_id_format")}
    del result["id_token_claims"], result["userinfo_claims"]
    if config.saml is not None:
        for warning in certificate_warnings(config.saml, now):
            result["warnings"].append(
                {
                    "title": "Signing certificate expiring",
                    "explanation": warning,
                    "fix": "Ask the IdP's admin for the next certificate and add it beside the current one "
                    "(both are trusted during a rollover), or refresh the IdP's metadata.",
                }
            )
    return result | {
        "protocol": "saml",
        "issuer": claims.issuer,
        "name_id": claims.raw.get("name_id", claims.subject),
        "name_id_format": claims.raw.get("name_id_format"),
        "attributes": attributes,
    }


def failure_result(exc: DeskgateError, error_id: str) -> dict[str, Any]:
    """Kept with the test, `diagnosis` lets any later page say "failed: <title>" without re-deriving it."""
    check = getattr(exc, "check", None) or (exc.rule if isinstance(exc, LoginDenied) else type(exc).__name__)
    return {
        "ok": False,
        "check": check,
        "detail": exc.detail,
        "message": exc.user_message,
        "error_id": error_id,
        "diagnosis": explain(check, exc.detail, error_id=error_id).as_dict(),
    }


def probe_failure_result(check: Check) -> dict[str, Any]:
    """A check the test page runs before any sign-in (discovery, keys, client credentials) failed: kept like
    a failed sign-in, so the IdP list and the mapping pages say the IdP does not work yet."""
    return {
        "ok": False,
        "check": check.name,
        "detail": check.detail,
        "message": "The checks before the test sign-in failed, so no sign-in was tried.",
        "error_id": new_error_id(),
        "diagnosis": explain(check.name, check.detail).as_dict(),
    }


def passed(result: dict[str, Any] | None) -> bool:
    """Whether a test proves the IdP usable by customers: the sign-in worked and gave an email address,
    which the portal finds customers by (a sign-in without one would refuse every customer)."""
    if result is None or not result.get("ok"):
        return False
    mapped = result.get("mapped")
    return isinstance(mapped, dict) and bool(mapped.get("email"))


class ConnectionTests:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def save(self, idp: str, result: dict[str, Any]) -> str:
        test_id = secrets.token_urlsafe(16)
        async with self._sessions.begin() as db:
            db.add(ConnectionTestRow(id=test_id, idp=idp, created_at=datetime.now(UTC), result=result))
        return test_id

    async def load(self, idp: str, test_id: str) -> dict[str, Any]:
        async with self._sessions() as db:
            row = await db.get(ConnectionTestRow, test_id)
        if row is None or row.idp != idp:
            raise NotFound(f"no connection test {test_id!r} for {idp!r}")
        return dict(row.result) | {"at": row.created_at.isoformat()}

    async def latest(self, idp: str) -> dict[str, Any] | None:
        async with self._sessions() as db:
            row = (
                await db.scalars(
                    select(ConnectionTestRow)
                    .where(ConnectionTestRow.idp == idp)
                    .order_by(ConnectionTestRow.created_at.desc())
                    .limit(1)
                )
            ).first()
        return None if row is None else dict(row.result) | {"at": row.created_at.isoformat()}
