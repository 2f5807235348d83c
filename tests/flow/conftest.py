"""Flow fixtures: Deskgate served on loopback against real OpenID providers (oidc-provider, Gluu-shaped)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from deskgate.demo.oidc_peer import DEMO_ACCOUNTS, OidcPeer, PeerAccount, PeerClient
from deskgate.identity.presets import get_preset
from deskgate.identity.provider import ProviderConfig
from deskgate.services import BACKCHANNEL_LOGOUT_PATH, CALLBACK_PATH, POST_LOGOUT_PATH
from deskgate.settings import load_settings
from deskgate.web.app import create_app
from tests.support.admin import create_admin
from tests.support.live import LiveServer, free_port

GLUU_CLIENT = ("deskgate-gluu", "gluu-client-secret-0123456789")
BASIC_CLIENT = ("deskgate-basic", "basic-client-secret-0123456789")
SECRET_KEY = "test-secret-key-0123456789-abcdefghijklmnop"
ACCOUNTS = (
    *DEMO_ACCOUNTS,
    PeerAccount(
        "mallory", "mallory", {"email": "mallory@evil.example", "email_verified": True, "name": "Mallory"}
    ),
)


@pytest.fixture(scope="session")
def deskgate_port() -> int:
    return free_port()


@pytest.fixture(scope="session")
def deskgate_base(deskgate_port: int) -> str:
    return f"http://127.0.0.1:{deskgate_port}"


@pytest.fixture(scope="session")
def gluu_peer(deskgate_base: str) -> Iterator[OidcPeer]:
    """Configured like Gluu: client_secret_post, openid email profile, /oxauth/restv1, pairwise sub, back-channel."""
    client = PeerClient(
        GLUU_CLIENT[0],
        GLUU_CLIENT[1],
        [deskgate_base + CALLBACK_PATH],
        post_logout_redirect_uris=[deskgate_base + POST_LOGOUT_PATH],
        token_endpoint_auth_method="client_secret_post",
        backchannel_logout_uri=deskgate_base + BACKCHANNEL_LOGOUT_PATH,
    )
    with OidcPeer(clients=[client], accounts=ACCOUNTS, gluu_paths=True, pairwise=True) as peer:
        yield peer


@pytest.fixture(scope="session")
def userinfo_peer(deskgate_base: str) -> Iterator[OidcPeer]:
    """A differently configured OP: client_secret_basic, and claims only from userinfo."""
    client = PeerClient(
        BASIC_CLIENT[0],
        BASIC_CLIENT[1],
        [deskgate_base + CALLBACK_PATH],
        post_logout_redirect_uris=[deskgate_base + POST_LOGOUT_PATH],
        token_endpoint_auth_method="client_secret_basic",
    )
    with OidcPeer(clients=[client], accounts=ACCOUNTS, gluu_paths=False, claims_in_id_token=False) as peer:
        yield peer


def gluu_idp(peer: OidcPeer, **changes: Any) -> ProviderConfig:
    """Built by the Gluu preset exactly as an admin would fill it in (domain, client id, secret).

    The preset speaks https; the loopback peer speaks http, so only the scheme is swapped afterwards.
    """
    domain = peer.issuer.removeprefix("http://")
    built = get_preset("gluu").build(
        name="gluu",
        title="Gluu",
        values={"domain": domain, "client_id": GLUU_CLIENT[0], "client_secret": GLUU_CLIENT[1]},
    )
    urls = (
        "issuer",
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "end_session_endpoint",
    )
    plain_http = {key: str(getattr(built, key)).replace("https://", "http://", 1) for key in urls}
    return built.model_copy(update=plain_http | changes)


def basic_idp(peer: OidcPeer, **changes: Any) -> ProviderConfig:
    config = ProviderConfig(
        name="basic",
        title="Basic OP",
        issuer=peer.issuer,
        client_id=BASIC_CLIENT[0],
        client_secret=SecretStr(BASIC_CLIENT[1]),
        token_endpoint_auth_method="client_secret_basic",
        scopes=("openid", "email", "profile"),
    )
    return config.model_copy(update=changes) if changes else config


ServerFactory = Callable[..., LiveServer]


@pytest.fixture
def deskgate(db_url: str, deskgate_port: int, deskgate_base: str) -> Iterator[ServerFactory]:
    """Start Deskgate with the given IdPs (and settings overrides); stopped after the test."""
    servers: list[LiveServer] = []

    def start(*idps: ProviderConfig, **overrides: Any) -> LiveServer:
        settings = load_settings(
            base_url=deskgate_base,
            secret_key=SECRET_KEY,
            database_url=db_url,
            idps=list(idps),
            **overrides,
        )
        server = LiveServer(create_app(settings), deskgate_port)
        server.start()
        servers.append(server)
        server.call(create_admin)  # the console's admin (tests/support/admin.py signs in as it)
        return server

    yield start
    for server in servers:
        server.stop()
