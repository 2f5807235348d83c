"""What Deskgate knows about one SAML IdP (`SamlIdpSettings`) and what it says about itself to it
(`ServiceProvider`): the configuration every other module of this package reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from cryptography import x509
from pydantic import BaseModel, ConfigDict, Field, field_validator

from deskgate.security.redirects import safe_next

# Which elements must carry a valid signature. "either" accepts a signed response or a signed assertion
# (what most IdPs send); at least one signature is always required: an unsigned answer never passes.
SignedParts = Literal["either", "response", "assertion", "both"]
SloBinding = Literal["redirect", "post"]

_PEM_BODY = re.compile(r"-----BEGIN CERTIFICATE-----|-----END CERTIFICATE-----|\s+")


def normalize_certificate(value: str) -> str:
    """A certificate as PEM, whether given as PEM or as the bare base64 of metadata and IdP consoles."""
    body = _PEM_BODY.sub("", value)
    lines = [body[i : i + 64] for i in range(0, len(body), 64)]
    pem = "-----BEGIN CERTIFICATE-----\n" + "\n".join(lines) + "\n-----END CERTIFICATE-----\n"
    x509.load_pem_x509_certificate(pem.encode())  # raises ValueError when it is not one
    return pem


class SamlIdpSettings(BaseModel):
    """One SAML IdP as the admin registered it, by hand or from its metadata (`metadata.idp_settings`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entity_id: str = Field(min_length=1, max_length=1024, description="The IdP's entity id (its Issuer).")
    sso_url: str = Field(description="The IdP's SingleSignOnService location for the HTTP-Redirect binding.")
    signing_certificates: tuple[str, ...] = Field(
        min_length=1,
        description="PEM certificates whose keys may sign (several during a rollover). Only these are "
        "trusted: a certificate sent inside a message is never used.",
    )
    signed: SignedParts = Field(
        default="either", description="Which elements must be signed; at least one always is."
    )
    allow_sha1: bool = Field(
        default=False, description="Accept RSA-SHA1 signatures and SHA-1 digests (legacy IdPs only)."
    )
    name_id_format: str | None = Field(
        default=None, description="NameIDPolicy Format to ask for (None: let the IdP choose)."
    )
    slo_url: str | None = Field(
        default=None,
        description="The IdP's SingleLogoutService location: sign-out is sent there and our answers to its "
        "logout requests too. None: the IdP does no single logout (sign-out ends only our session).",
    )
    slo_binding: SloBinding = Field(default="redirect", description="The binding of `slo_url`.")
    subject_attribute: str | None = Field(
        default=None,
        max_length=1024,
        description="The attribute (by Name or FriendlyName) whose single value names the user, instead "
        "of the NameID: needed when the IdP sends a transient NameID, which changes at every sign-in "
        "(e.g. mail, or urn:oid:1.3.6.1.4.1.5923.1.1.1.6 for eduPersonPrincipalName). None: the NameID.",
    )
    slo_response_url: str | None = Field(
        default=None,
        description="Where our answers to the IdP's logout requests go when its metadata names a "
        "ResponseLocation apart from `slo_url` (metadata §2.2.2); None: `slo_url`.",
    )
    idp_initiated: bool = Field(
        default=False,
        description="Accept a sign-in the IdP starts (a response answering no request). Such a response "
        "can be planted in a browser by anyone holding one: turn on only for IdPs that need it.",
    )
    idp_initiated_landing: str = Field(
        default="/",
        description="The local page an IdP-initiated sign-in lands on (the RelayState is never followed).",
    )
    sign_requests: bool = Field(
        default=False,
        description="Sign AuthnRequests with the SP's current key (set from the IdP's metadata when it "
        "says WantAuthnRequestsSigned).",
    )
    require_encryption: bool = Field(
        default=False,
        description="Refuse an assertion that was not encrypted to one of the SP's keys.",
    )
    metadata_url: str | None = Field(
        default=None,
        description="Where the IdP publishes its metadata: the fields above are read from it again on a "
        "schedule (`metadata_source`). None: they were typed in or uploaded, and stay as they are.",
    )
    metadata_pin: str | None = Field(
        default=None,
        description="A certificate (PEM or base64) the metadata document must be signed with; an "
        "unsigned document, or one signed by any other key, is refused. None: the metadata is unsigned.",
    )
    metadata_checked_at: datetime | None = Field(
        default=None, description="When the metadata URL was last read (successfully or not)."
    )
    metadata_error: str | None = Field(
        default=None,
        description="Why the last read of the metadata URL failed (None: it worked). The settings above "
        "are then those of the last read that worked.",
    )

    @field_validator("sso_url")
    @classmethod
    def _absolute_http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s?#]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("slo_url", "slo_response_url")
    @classmethod
    def _slo_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("idp_initiated_landing")
    @classmethod
    def _landing(cls, value: str) -> str:
        if safe_next(value, default="") != value:
            raise ValueError("must be a path on this site, such as /portal")
        return value

    @field_validator("metadata_url")
    @classmethod
    def _metadata_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^/\s?#]+", value):
            raise ValueError("must be an absolute http(s) URL")
        return value

    @field_validator("metadata_pin")
    @classmethod
    def _pin(cls, value: str | None) -> str | None:
        try:
            return None if value is None else normalize_certificate(value)
        except ValueError:
            raise ValueError("the pinned certificate must be an X.509 certificate (PEM or base64)") from None

    @field_validator("signing_certificates")
    @classmethod
    def _certificates(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        try:
            return tuple(normalize_certificate(cert) for cert in value)
        except ValueError:
            raise ValueError(
                "each signing certificate must be an X.509 certificate (PEM or base64)"
            ) from None

    def certificates(self) -> list[x509.Certificate]:
        return [x509.load_pem_x509_certificate(pem.encode()) for pem in self.signing_certificates]


@dataclass(frozen=True, slots=True)
class ServiceProvider:
    """Deskgate as the SP of one IdP: one entity per IdP, so each IdP's trust stays its own."""

    idp: str
    entity_id: str
    acs_url: str
    slo_url: str
    metadata_url: str

    @classmethod
    def for_idp(cls, base_url: str, idp: str) -> ServiceProvider:
        root = f"{base_url.rstrip('/')}/saml/{idp}"
        # The metadata URL doubles as the entity id: unique per IdP, and it resolves to the metadata.
        return cls(
            idp=idp,
            entity_id=f"{root}/metadata",
            acs_url=f"{root}/acs",
            slo_url=f"{root}/slo",
            metadata_url=f"{root}/metadata",
        )
