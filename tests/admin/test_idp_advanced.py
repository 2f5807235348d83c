"""The IdP form's advanced settings: shown folded, validated as the settings file validates them, errors
naming the field, a good value saved and kept on edit."""

from __future__ import annotations

import html
import re

import pytest

from deskgate.identity.presets import get_preset
from deskgate.identity.presets.base import PresetInputError
from deskgate.identity.presets.entries import provider_from_entry
from tests.support.admin import console_sign_in
from tests.support.inprocess import running_app

pytestmark = pytest.mark.anyio

GLUU_FORM = {
    "name": "gluu",
    "title": "Corp Gluu",
    "domain": "idp.corp.test",
    "client_id": "inum-1234",
    "client_secret": "gluu-secret-never-shown-42",
    "scopes": "openid email profile",
}


def _error(page: str, field: str) -> str:
    found = re.search(rf'id="error-{field}">([^<]*)<', page)
    assert found, f"no error shown for {field}"
    return html.unescape(found.group(1))


async def test_the_form_shows_the_presets_choices_folded(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        await console_sign_in(client, services)
        page = (await client.get("/admin/idps/new/gluu")).text
    assert '<details id="advanced">' in page  # folded: no open attribute without errors
    # Gluu's preset authenticates in the body; the select starts on the preset's choice.
    assert '<option value="client_secret_post" selected>' in page
    assert 'id="field-clock_skew_seconds" name="clock_skew_seconds" value="60"' in page
    assert 'name="frontchannel_logout"' in page and "The Gluu Server 4 preset&#39;s choice" in page


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("clock_skew_seconds", "9000", "Clock skew (seconds) must be at most 600"),
        ("clock_skew_seconds", "soon", "Clock skew (seconds) must be a whole number"),
        ("id_token_signing_algs", "HS256", "ID token algorithms: unsupported ID token algorithms ['HS256']"),
        ("extra_authorize_params", "acr_values", "Extra authorization parameters: line 1 is not name=value"),
        ("extra_authorize_params", "state=x", "Extra authorization parameters: state are set by Deskgate"),
        ("response_mode", "fragment", "Response mode must be query or form_post"),
    ],
)
async def test_a_bad_value_is_refused_naming_the_field(
    db_url: str, field: str, value: str, words: str
) -> None:
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        page = await client.post(
            "/admin/idps/new/gluu", data={**GLUU_FORM, field: value, "csrf_token": token}
        )
        assert page.status_code == 400
        assert _error(page.text, field).startswith(words)
        assert '<details id="advanced" open>' in page.text  # unfolded where the problem is
        assert await services.providers.all() == []


async def test_the_same_value_is_refused_by_the_settings_file_too() -> None:
    """One validation: a settings-file entry with the value the form refused fails the same way."""
    entry = {"preset": "gluu", **GLUU_FORM, "clock_skew_seconds": "9000"}
    with pytest.raises(PresetInputError) as refused:
        provider_from_entry(entry)
    assert "must be at most 600" in refused.value.errors["clock_skew_seconds"]


async def test_a_public_client_without_pkce_is_refused_as_a_whole(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        form = {**GLUU_FORM, "token_endpoint_auth_method": "none", "use_pkce": "false", "csrf_token": token}
        page = await client.post("/admin/idps/new/gluu", data=form)
        assert page.status_code == 400
        assert "a public client (auth method 'none') must use PKCE" in html.unescape(page.text)


async def test_good_values_are_saved_and_kept_on_edit(db_url: str) -> None:
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        advanced = {
            "token_endpoint_auth_method": "client_secret_basic",
            "use_pkce": "true",
            "response_mode": "form_post",
            "id_token_signing_algs": "RS256 ES256",
            "clock_skew_seconds": "120",
            "extra_authorize_params": "acr_values=mfa\nui_locales = de",
            "frontchannel_logout": "iss_and_sid",
        }
        saved = await client.post("/admin/idps/new/gluu", data={**GLUU_FORM, **advanced, "csrf_token": token})
        assert saved.status_code == 303
        config = await services.providers.get("gluu")
        assert config.token_endpoint_auth_method == "client_secret_basic"
        assert config.response_mode == "form_post"
        assert config.id_token_signing_algs == ("RS256", "ES256")
        assert config.clock_skew_seconds == 120
        assert config.extra_authorize_params == {"acr_values": "mfa", "ui_locales": "de"}
        assert config.frontchannel_logout == "iss_and_sid"
        # The same IdP the settings file would make from these keys.
        entry = {"preset": "gluu", **GLUU_FORM, **advanced, "use_pkce": True, "clock_skew_seconds": 120}
        entry["id_token_signing_algs"] = ["RS256", "ES256"]
        entry["extra_authorize_params"] = {"acr_values": "mfa", "ui_locales": "de"}
        from_file = provider_from_entry(entry)
        assert from_file.model_dump(exclude={"draft", "order"}) == config.model_dump(
            exclude={"draft", "order"}
        )

        edit = (await client.get("/admin/idps/gluu/edit")).text
        assert '<option value="form_post" selected>' in edit and 'value="RS256 ES256"' in edit
        assert "acr_values=mfa\nui_locales=de</textarea>" in edit
        # An edit of another field keeps them; "the preset's rule" unsets the front-channel choice.
        changed = {
            **GLUU_FORM,
            **advanced,
            "client_id": "inum-9",
            "client_secret": "",
            "frontchannel_logout": "",
        }
        assert (
            await client.post("/admin/idps/gluu/edit", data={**changed, "csrf_token": token})
        ).status_code == 303
        edited = await services.providers.get("gluu")
        assert edited.client_id == "inum-9" and edited.clock_skew_seconds == 120
        assert edited.response_mode == "form_post" and edited.frontchannel_logout is None


async def test_an_edit_without_the_section_keeps_what_was_set(db_url: str) -> None:
    """A form that does not send the section (a script, an older page) changes none of its settings."""
    async with running_app(db_url) as (client, services):
        token = await console_sign_in(client, services)
        built = get_preset("gluu").build(name="gluu", title="Corp Gluu", values=GLUU_FORM)
        await services.providers.save(
            built.model_copy(update={"response_mode": "form_post", "clock_skew_seconds": 5})
        )
        plain = {**GLUU_FORM, "client_id": "inum-2", "csrf_token": token}
        assert (await client.post("/admin/idps/gluu/edit", data=plain)).status_code == 303
        config = await services.providers.get("gluu")
        assert config.client_id == "inum-2" and config.response_mode == "form_post"
