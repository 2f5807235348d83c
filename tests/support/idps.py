"""An IdP configuration for tests that never contact it (the console, sessions, the login page's lists)."""

from __future__ import annotations

from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig


def provider(name: str, **changes: object) -> ProviderConfig:
    """`name` at https://<name>.test with a client secret of its own; `changes` set any other field."""
    config = ProviderConfig(
        name=name,
        title=name.title(),
        issuer=f"https://{name}.test",
        client_id="deskgate",
        client_secret=SecretStr(f"{name}-secret-0123"),
    )
    return config.model_copy(update=changes)
