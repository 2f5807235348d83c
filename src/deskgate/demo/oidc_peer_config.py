"""What the test OpenID Provider knows: its clients, its accounts, and the configuration file it reads.

``peers/oidc-provider/server.mjs`` reads one JSON file at start-up; ``peer_config`` builds it from typed
clients and accounts so callers never write oidc-provider's metadata by hand. ``DEMO_ACCOUNTS`` are the
flow tests' users; ``deskgate demo`` signs in the people of ``deskgate.demo.people`` instead.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from joserfc.jwk import ECKey, KeyParameters, RSAKey

__all__ = ["DEMO_ACCOUNTS", "PeerAccount", "PeerClient", "PeerPages", "peer_config", "signing_key"]


@dataclass
class PeerAccount:
    """A user of the provider: ``id`` is what goes in the login field, and the ``sub`` (unless pairwise)."""

    id: str
    password: str
    claims: dict[str, Any] = field(default_factory=dict)


@dataclass
class PeerClient:
    """A relying party registered at the provider; ``extra`` adds any other oidc-provider client metadata.

    A public client has ``client_secret=None`` and ``token_endpoint_auth_method="none"`` (PKCE is then
    required, as at Gluu).
    """

    client_id: str
    client_secret: str | None
    redirect_uris: list[str]
    post_logout_redirect_uris: list[str] = field(default_factory=list)
    token_endpoint_auth_method: str = "client_secret_post"  # noqa: S105 - a method name, not a secret
    backchannel_logout_uri: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        """The client as oidc-provider's ``clients`` configuration expects it."""
        public = self.token_endpoint_auth_method == "none"  # noqa: S105 - a method name, not a secret
        if (self.client_secret is None) != public:
            raise ValueError(
                f"client {self.client_id!r}: a client_secret goes with a client_secret_* method, "
                "and none with token_endpoint_auth_method 'none'"
            )
        metadata: dict[str, Any] = {
            "client_id": self.client_id,
            "redirect_uris": self.redirect_uris,
            "post_logout_redirect_uris": self.post_logout_redirect_uris,
            "token_endpoint_auth_method": self.token_endpoint_auth_method,
        }
        if self.client_secret is not None:
            metadata["client_secret"] = self.client_secret
        if self.backchannel_logout_uri is not None:
            # Gluu puts `sid` in ID and logout tokens by default; oidc-provider only when asked.
            metadata["backchannel_logout_uri"] = self.backchannel_logout_uri
            metadata["backchannel_logout_session_required"] = True
        return metadata | self.extra


@dataclass(frozen=True)
class PeerPages:
    """How the provider's pages present it: the product ``name`` (and a ``tagline``) they show, and
    whether the sign-in page lists every account with its password (``account_hints``: the demo's)."""

    name: str
    tagline: str = ""
    account_hints: bool = False


DEMO_ACCOUNTS: tuple[PeerAccount, ...] = (
    PeerAccount(
        "demo",
        "demo",
        {
            "email": "demo@example.com",
            "email_verified": True,
            "given_name": "Demo",
            "family_name": "Customer",
            "name": "Demo Customer",
            "preferred_username": "demo",
            "groups": ["customers"],
        },
    ),
    PeerAccount(
        "alice",
        "alice",
        {
            "email": "alice@example.org",
            "email_verified": True,
            "given_name": "Alice",
            "family_name": "Liddell",
            "name": "Alice Liddell",
            "preferred_username": "alice",
            "groups": ["customers", "agents"],
        },
    ),
)


def signing_key(alg: Literal["RS256", "ES256"] = "RS256") -> dict[str, Any]:
    """A new private signing JWK for the provider (it generates none itself; see ``server.mjs``)."""
    parameters: KeyParameters = {"kid": f"{uuid.uuid4()}_sig_{alg.lower()}", "alg": alg, "use": "sig"}
    if alg == "RS256":
        return RSAKey.generate_key(2048, parameters=parameters).as_dict(private=True)
    return ECKey.generate_key("P-256", parameters=parameters).as_dict(private=True)


def peer_config(
    *,
    clients: Sequence[PeerClient],
    accounts: Sequence[PeerAccount],
    gluu_paths: bool,
    claims_in_id_token: bool,
    pairwise: bool,
    port: int,
    test_admin: bool,
    issuer_path: str,
    scope_claims: Mapping[str, Sequence[str]] | None,
    ttl: Mapping[str, int] | None,
    tls: tuple[Path, Path] | None,
    pages: PeerPages | None = None,
) -> dict[str, Any]:
    """The JSON configuration ``server.mjs`` reads (the launcher's keyword arguments, as documented there)."""
    config: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "issuer_path": issuer_path,
        "gluu_paths": gluu_paths,
        "claims_in_id_token": claims_in_id_token,
        "pairwise": pairwise,
        "test_admin": test_admin,
        "exit_with_stdin": True,
        "clients": [client.metadata() for client in clients],
        "accounts": {a.id: {"password": a.password, "claims": a.claims} for a in accounts},
        "signing_keys": [signing_key("RS256"), signing_key("ES256")],
    }
    if scope_claims is not None:
        config["scope_claims"] = {scope: list(claims) for scope, claims in scope_claims.items()}
    if ttl is not None:
        config["ttl"] = dict(ttl)
    if pages is not None:
        config["brand"] = {"name": pages.name, "tagline": pages.tagline}
        config["account_hints"] = pages.account_hints
    if tls is not None:
        # (certificate, key) PEM files: the provider then speaks https.
        config["tls"] = {"cert": str(tls[0]), "key": str(tls[1])}
    return config
