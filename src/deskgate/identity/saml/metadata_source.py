"""Where a SAML IdP's settings come from, and how those read from a metadata URL stay current.

Three sources, one result (`SamlIdpSettings`):

* a metadata URL: fetched with a size cap and short timeouts, optionally verified against a pinned
  certificate, and read again on a schedule (`refresh_due`, run by `refresh_round` in every worker);
* metadata XML the admin uploads (`from_metadata` without a URL);
* the entity id, SSO URL and certificates typed by hand (`SamlIdpSettings` itself).

A pinned certificate trusts that certificate only: the document must carry an enveloped signature
(a direct child of its root, covering the root) that this certificate verifies, and only the signed
copy is read. A refresh that fails keeps the settings of the last one that worked and records why
(`metadata_error`, shown in the console, logged); one that changes the signing certificates is audited,
since from then on other keys are trusted to vouch for customers.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import httpx
from cryptography import x509
from lxml import etree
from signxml.exceptions import InvalidCertificate, InvalidDigest, InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from deskgate.audit import AuditEvent, AuditLog
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.registry import ProviderRegistry
from deskgate.identity.saml.errors import SamlRejected
from deskgate.identity.saml.metadata import idp_settings
from deskgate.identity.saml.settings import SamlIdpSettings, normalize_certificate
from deskgate.identity.saml.xml import MAX_BYTES, NS, parse

log = logging.getLogger("deskgate.saml")

FETCH_TIMEOUT = httpx.Timeout(10.0, connect=5.0)
REFRESH_EVERY = timedelta(hours=6)  # IdPs announce a rollover days ahead; this is well inside that
LOOP_INTERVAL = 300.0  # how often the loop looks for IdPs that are due
# What the admin chose beside the metadata: a refresh keeps it.
_KEPT = ("signed", "allow_sha1", "name_id_format", "metadata_url", "metadata_pin")


async def fetch(http: httpx.AsyncClient, url: str) -> bytes:
    """The document at `url`, or `SamlRejected("metadata_fetch")`: no redirects, at most `MAX_BYTES`."""
    body = bytearray()
    try:
        async with http.stream("GET", url, timeout=FETCH_TIMEOUT, follow_redirects=False) as response:
            if response.status_code != 200:
                raise SamlRejected("metadata_fetch", f"{url} answered HTTP {response.status_code}")
            declared = response.headers.get("content-length", "")
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise SamlRejected("metadata_fetch", f"{url} is larger than {MAX_BYTES} bytes")
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BYTES:
                    raise SamlRejected("metadata_fetch", f"{url} is larger than {MAX_BYTES} bytes")
    except httpx.HTTPError as exc:
        raise SamlRejected(
            "metadata_fetch", f"{url} could not be read: {type(exc).__name__}: {exc}"
        ) from None
    return bytes(body)


def verified_by_pin(data: bytes, pin: str) -> bytes:
    """The part of `data` that `pin`'s key signed, which must be the whole document; else a refusal."""
    root = parse(data, what="IdP metadata")
    if root.find("ds:Signature", NS) is None:
        raise SamlRejected(
            "metadata_signature", "the metadata is not signed, and a certificate is pinned for it"
        )
    certificate = x509.load_pem_x509_certificate(pin.encode())
    try:
        result = XMLVerifier().verify(
            root,
            x509_cert=certificate,
            id_attribute="ID",
            expect_config=SignatureConfiguration(location="./", expect_references=1),
        )
    except (InvalidSignature, InvalidDigest, InvalidInput, InvalidCertificate) as exc:
        raise SamlRejected(
            "metadata_signature", f"the pinned certificate does not verify the metadata: {str(exc)[:200]}"
        ) from None
    assert not isinstance(result, list)  # expect_references=1
    signed = result.signed_xml
    if signed is None or signed.tag != root.tag or signed.get("ID") != root.get("ID"):
        raise SamlRejected("metadata_signature", "the signature covers part of the metadata, not all of it")
    return bytes(etree.tostring(signed))


def from_metadata(
    data: bytes,
    *,
    current: SamlIdpSettings | None = None,
    choices: Mapping[str, object] = MappingProxyType({}),
) -> SamlIdpSettings:
    """Settings read from a metadata document (verified first when a certificate is pinned).

    `current`'s own choices (which parts must be signed, SHA-1, NameID format, URL and pin) are kept
    and its entity id must be the one found again; `choices` sets those for a new IdP.
    """
    kept: dict[str, object] = {key: getattr(current, key) for key in _KEPT} if current else {}
    kept |= dict(choices)
    pin = kept.get("metadata_pin")
    if isinstance(pin, str) and pin:
        try:
            kept["metadata_pin"] = pin = normalize_certificate(pin)
        except ValueError:
            raise SamlRejected("metadata_pin", "the pinned certificate is not an X.509 certificate") from None
        data = verified_by_pin(data, pin)
    entity_id = current.entity_id if current else None
    return idp_settings(data, entity_id=entity_id, **kept)


async def load(
    http: httpx.AsyncClient, url: str, choices: Mapping[str, object] = MappingProxyType({})
) -> SamlIdpSettings:
    """A new IdP's settings from its metadata URL (the console's "from a URL" and `deskgate idp test`)."""
    fresh = from_metadata(await fetch(http, url), choices={**choices, "metadata_url": url})
    return fresh.model_copy(update={"metadata_checked_at": datetime.now(UTC)})


@dataclass(frozen=True, slots=True)
class Refreshed:
    """One IdP's refresh: ``error`` is None when it worked; ``added``/``removed`` are certificates."""

    idp: str
    error: str | None
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


async def refresh(http: httpx.AsyncClient, saml: SamlIdpSettings, now: datetime) -> SamlIdpSettings:
    """`saml` read again from its URL; on failure the same settings with the reason recorded."""
    assert saml.metadata_url is not None
    try:
        fresh = from_metadata(await fetch(http, saml.metadata_url), current=saml)
    except SamlRejected as exc:
        return saml.model_copy(update={"metadata_checked_at": now, "metadata_error": exc.detail})
    return fresh.model_copy(update={"metadata_checked_at": now, "metadata_error": None})


def _due(config: ProviderConfig, now: datetime, every: timedelta) -> bool:
    saml = config.saml
    if saml is None or not saml.metadata_url:
        return False
    return saml.metadata_checked_at is None or now - saml.metadata_checked_at >= every


async def refresh_due(
    providers: ProviderRegistry,
    http: httpx.AsyncClient,
    audit: AuditLog,
    *,
    every: timedelta = REFRESH_EVERY,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> list[Refreshed]:
    """Read again the metadata of every IdP whose last read is older than `every`."""
    done: list[Refreshed] = []
    for config in await providers.all():
        if not _due(config, now(), every):
            continue
        old = config.saml
        assert old is not None
        new = await refresh(http, old, now())
        providers.invalidate()  # an admin may have changed the IdP while its metadata was read
        if (await providers.get(config.name)).saml != old:
            continue
        await providers.save(config.model_copy(update={"saml": new}))
        added = tuple(c for c in new.signing_certificates if c not in old.signing_certificates)
        removed = tuple(c for c in old.signing_certificates if c not in new.signing_certificates)
        done.append(Refreshed(config.name, new.metadata_error, added, removed))
        if new.metadata_error:
            log.warning(
                "SAML metadata of %s not refreshed, keeping the last good: %s",
                config.name,
                new.metadata_error,
            )
        elif added or removed:
            detail = f"metadata refresh changed the signing certificates: {len(added)} added, {len(removed)} removed"
            log.info("SAML metadata of %s: %s", config.name, detail)
            await audit.record(
                AuditEvent(event="admin.idp.metadata", outcome="success", idp=config.name, detail=detail)
            )
    return done


async def refresh_round(
    providers: ProviderRegistry, http: httpx.AsyncClient, audit: AuditLog, interval: float = LOOP_INTERVAL
) -> float:
    """A round of the background loop every worker runs (`deskgate.background`); an IdP already read by
    another worker is not due. The wait before the next round."""
    try:
        await refresh_due(providers, http, audit)
    except Exception:  # the database away for a moment: the loop outlives it
        log.exception("SAML metadata refresh round failed; trying again in %s s", interval)
    return interval
