"""Checks an admin can run without a user: discovery, keys, and whether the IdP accepts the client credentials."""

from __future__ import annotations

from dataclasses import dataclass

from deskgate.errors import DeskgateError
from deskgate.identity.oidc.client import RelyingParty


@dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool | None  # None: could not be decided
    detail: str


async def probe(party: RelyingParty) -> list[Check]:
    checks: list[Check] = []
    try:
        metadata = await party.metadata()
    except DeskgateError as exc:
        return [Check("discovery", False, exc.detail)]
    checks.append(
        Check("discovery", True, f"issuer {metadata.issuer}, token endpoint {metadata.token_endpoint}")
    )
    if party.config.protocol == "oidc":
        try:
            keys = await party.keys.key_set(refresh=True)
            checks.append(Check("jwks", bool(keys.keys), f"{len(keys.keys)} signing key(s)"))
        except DeskgateError as exc:
            checks.append(Check("jwks", False, exc.detail))
    checks.append(await _client_credentials(party))
    return checks


async def _client_credentials(party: RelyingParty) -> Check:
    """Redeem a code that cannot exist: `invalid_grant` means the client was authenticated, `invalid_client` not."""
    try:
        await party.redeem_probe()
    except DeskgateError as exc:
        detail = exc.detail
        if "invalid_client" in detail or "HTTP 401" in detail:
            return Check(
                "client_credentials", False, "the IdP rejected the client id/secret (invalid_client)"
            )
        if "invalid_grant" in detail:
            return Check("client_credentials", True, "the IdP accepted the client id/secret")
        return Check("client_credentials", None, f"could not tell: {detail}")
    return Check("client_credentials", None, "the IdP accepted a made-up code, which it should not")
