"""Saving a mapping whose email claim the last test did not send warns before it locks every customer out.

Issue 10: a one-word typo in the email claim told every customer "You are not allowed to use this portal".
"""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from deskgate.identity.provider import ProviderConfig
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

CONFIG = ProviderConfig(
    name="corp",
    title="Corp",
    issuer="https://corp.test",
    client_id="deskgate",
    client_secret=SecretStr("s3cret"),
)


def _test_result() -> dict[str, Any]:
    """Shaped like `login.connection_test.success_result`: the IdP sends the address as `mail`."""
    return {
        "ok": True,
        "subject": "u-42",
        "id_token_claims": {"iss": "https://corp.test", "sub": "u-42", "mail": "ann@corp.com"},
        "userinfo_claims": {"given_name": "Ann"},
        "mapped": {"email": None},
        "verdict": {"allowed": True, "rule": "default", "reason": "no rule refused the user"},
    }


def _form(email: str, token: str, **extra: str) -> dict[str, str]:
    return {"email": email, "first_name": "given_name", "action": "save", "csrf_token": token, **extra}


async def test_a_mapping_that_finds_no_email_in_the_last_test_needs_confirmation(db_url: str) -> None:
    async with running_app(db_url, idps=[CONFIG]) as (client, services):
        token = await console_sign_in(client, services)
        await services.connection_tests.save("corp", _test_result())

        typo = await client.post("/admin/idps/corp/mapping", data=_form("mial", token))
        assert typo.status_code == 409
        warning = typo.text.split('id="lockout-warning"', 1)[1].split("</div>", 1)[0]
        assert "<code>mial</code>" in warning and "You are not allowed to use this portal" in warning
        assert "<code>mail</code>" in warning  # the claims it did send, to spot the typo
        assert 'name="confirm_no_email"' in warning
        assert 'value="mial"' in typo.text  # the form keeps what was typed
        assert (await services.providers.get("corp")).mapping.email == ("email",)
        assert await services.audit.query(event="admin.idp.mapping") == []

        confirmed = _form("mial", token, confirm_no_email="lock-out-understood")
        assert (await client.post("/admin/idps/corp/mapping", data=confirmed)).status_code == 303
        assert (await services.providers.get("corp")).mapping.email == ("mial",)

        # A mapping that finds the address is saved at once, as before.
        fixed = await client.post("/admin/idps/corp/mapping", data=_form("email, mail", token))
        assert fixed.status_code == 303
        assert (await services.providers.get("corp")).mapping.email == ("email", "mail")


async def test_without_a_successful_test_there_is_nothing_to_warn_by(db_url: str) -> None:
    async with running_app(db_url, idps=[CONFIG]) as (client, services):
        token = await console_sign_in(client, services)
        assert (await client.post("/admin/idps/corp/mapping", data=_form("mial", token))).status_code == 303
        assert (await services.providers.get("corp")).mapping.email == ("mial",)
