"""An IdP's settings read from its metadata URL: SimpleSAMLphp, a real IdP, serves the metadata (signed
with its own key when asked); the pin, the size cap and the refresh that keeps the last good settings."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from deskgate.audit import AuditFilter
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.saml import metadata_source
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.settings import ServiceProvider, normalize_certificate
from deskgate.identity.saml.xml import MAX_BYTES
from tests.saml.hostile_idp import SigningKey
from tests.saml.simplesamlphp import available, simplesamlphp
from tests.support.inprocess import running_app

SP = ServiceProvider.for_idp("http://127.0.0.1:8080", "ssp")
METADATA = "/saml2/idp/metadata.php"
pytestmark = [pytest.mark.anyio, pytest.mark.peer]


class Peer:
    """SimpleSAMLphp with switches: `php -S` reads config.php again on every request."""

    def __init__(self, root: Path, base: str) -> None:
        self.root, self.base, self.url = root, base, base + METADATA
        self._config = (root / "config.php").read_text()

    def sign_metadata(self, on: bool) -> None:
        flag = "true" if on else "false"
        (self.root / "config.php").write_text(
            self._config
            + f"$config['metadata.sign.enable'] = {flag};\n"
            + "$config['metadata.sign.privatekey'] = 'idp.key';\n"
            + "$config['metadata.sign.certificate'] = 'idp.crt';\n"
        )

    @property
    def certificate(self) -> str:
        return (self.root / "cert/idp.crt").read_text()

    def new_key(self) -> str:
        """A key rollover at the IdP: metadata and responses are signed with a new key from now on."""
        key = SigningKey.generate("SimpleSAMLphp rolled over")
        (self.root / "cert/idp.key").write_bytes(key.key_pem)
        (self.root / "cert/idp.crt").write_text(key.cert_pem)
        return key.cert_pem


@pytest.fixture
def peer(tmp_path: Path) -> Iterator[Peer]:
    missing = available()
    if missing:
        pytest.skip(missing)  # a failure under CI=true (tests/conftest.py)
    with simplesamlphp(tmp_path, SP) as base:
        yield Peer(tmp_path, base)


async def test_unsigned_metadata_without_a_pin(peer: Peer) -> None:
    peer.sign_metadata(False)
    async with httpx.AsyncClient() as http:
        settings = await metadata_source.load(http, peer.url, choices={"signed": "both"})
    assert settings.entity_id == peer.url
    assert settings.sso_url == peer.base + "/saml2/idp/SSOService.php"
    assert settings.signing_certificates == (normalize_certificate(peer.certificate),)
    assert settings.metadata_url == peer.url and settings.signed == "both"
    assert settings.metadata_checked_at is not None and settings.metadata_error is None


async def test_signed_metadata_verified_by_the_pinned_certificate(peer: Peer) -> None:
    peer.sign_metadata(True)
    async with httpx.AsyncClient() as http:
        data = await metadata_source.fetch(http, peer.url)
        assert b"Signature" in data  # SimpleSAMLphp did sign it
        settings = await metadata_source.load(http, peer.url, choices={"metadata_pin": peer.certificate})
    assert settings.metadata_pin == normalize_certificate(peer.certificate)
    assert settings.entity_id == peer.url


async def test_a_pin_that_did_not_sign_refuses_the_metadata(peer: Peer) -> None:
    peer.sign_metadata(True)
    other = SigningKey.generate("Someone else").cert_pem
    async with httpx.AsyncClient() as http:
        with pytest.raises(SamlRejected) as refused:
            await metadata_source.load(http, peer.url, choices={"metadata_pin": other})
    assert refused.value.check == "metadata_signature"
    assert "does not verify" in refused.value.detail


async def test_unsigned_metadata_with_a_pin_is_refused(peer: Peer) -> None:
    peer.sign_metadata(False)
    async with httpx.AsyncClient() as http:
        with pytest.raises(SamlRejected) as refused:
            await metadata_source.load(http, peer.url, choices={"metadata_pin": peer.certificate})
    assert refused.value.check == "metadata_signature"
    assert "not signed" in refused.value.detail


async def test_signed_metadata_altered_after_signing_is_refused(peer: Peer) -> None:
    peer.sign_metadata(True)
    async with httpx.AsyncClient() as http:
        data = await metadata_source.fetch(http, peer.url)
    altered = data.replace(b"/saml2/idp/SSOService.php", b"/evil/SSOService.php")
    assert altered != data
    with pytest.raises(SamlRejected) as refused:
        metadata_source.from_metadata(altered, choices={"metadata_pin": peer.certificate})
    assert refused.value.check == "metadata_signature"


async def test_refresh_keeps_the_last_good_settings_and_audits_a_rollover(db_url: str, peer: Peer) -> None:
    peer.sign_metadata(True)
    async with running_app(db_url) as (_, services), httpx.AsyncClient() as http:
        first = await metadata_source.load(http, peer.url, choices={"metadata_pin": peer.certificate})
        await services.providers.save(
            ProviderConfig(name="ssp", title="SimpleSAMLphp", protocol="saml", saml=first)
        )
        later = datetime.now(UTC) + timedelta(days=1)

        async def refresh_at(when: datetime) -> list[metadata_source.Refreshed]:
            return await metadata_source.refresh_due(
                services.providers, http, services.audit, now=lambda: when
            )

        # Not due yet: nothing is read.
        assert await refresh_at(datetime.now(UTC)) == []
        # The IdP stops signing its metadata: refused, the last good settings stay, the reason is kept.
        peer.sign_metadata(False)
        failed = await refresh_at(later)
        assert [r.idp for r in failed] == ["ssp"] and failed[0].error
        kept = (await services.providers.get("ssp")).saml
        assert kept is not None
        assert kept.signing_certificates == first.signing_certificates
        assert kept.metadata_error is not None and "not signed" in kept.metadata_error
        assert kept.metadata_checked_at == later
        # It signs again, with a new key it rolled over to: the pin no longer matches either.
        peer.sign_metadata(True)
        peer.new_key()
        failed = await refresh_at(later + timedelta(days=1))
        assert failed[0].error and "does not verify" in failed[0].error
        still = (await services.providers.get("ssp")).saml
        assert still is not None and still.signing_certificates == first.signing_certificates
        # The admin trusts the new key (pin removed): the refresh works and the change is audited.
        unpinned = still.model_copy(update={"metadata_pin": None})
        await services.providers.save(
            (await services.providers.get("ssp")).model_copy(update={"saml": unpinned})
        )
        done = await refresh_at(later + timedelta(days=2))
        assert done[0].error is None and len(done[0].added) == 1 and len(done[0].removed) == 1
        fresh = (await services.providers.get("ssp")).saml
        assert fresh is not None and fresh.metadata_error is None
        assert fresh.signing_certificates == (normalize_certificate(peer.certificate),)
        events = await services.audit.search(AuditFilter(event="admin.idp.metadata"))
        assert [e.idp for e in events] == ["ssp"]
        assert "1 added, 1 removed" in (events[0].detail or "")


# --- the fetch's limits, through an in-process transport ----------------------------------------


def _client(handler: httpx.MockTransport) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=handler)


async def test_fetch_refuses_errors_redirects_and_oversized_documents() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        return {
            "/missing": httpx.Response(404),
            "/moved": httpx.Response(302, headers={"location": "http://elsewhere/"}),
            "/huge": httpx.Response(200, content=b"<x>" + b"a" * MAX_BYTES + b"</x>"),
            "/ok": httpx.Response(200, content=b"<x/>"),
        }[request.url.path]

    async with _client(httpx.MockTransport(answer)) as http:
        assert await metadata_source.fetch(http, "http://idp/ok") == b"<x/>"
        for path, words in (("/missing", "HTTP 404"), ("/moved", "HTTP 302"), ("/huge", "larger than")):
            with pytest.raises(SamlRejected) as refused:
                await metadata_source.fetch(http, "http://idp" + path)
            assert refused.value.check == "metadata_fetch" and words in refused.value.detail


async def test_fetch_turns_a_transport_failure_into_a_refusal() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with _client(httpx.MockTransport(down)) as http:
        with pytest.raises(SamlRejected) as refused:
            await metadata_source.fetch(http, "http://idp/metadata")
    assert refused.value.check == "metadata_fetch" and "ConnectError" in refused.value.detail
