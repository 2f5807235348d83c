"""Front-channel logout: which sessions a request to the public front-channel URL may end.

Any page can make a browser send that request (an iframe, an image, a link), so it may end only what it
names in a way an outsider cannot forge. What an IdP's requests carry decides what that is: its
`ProviderConfig.frontchannel_logout`, or when unset its preset's `frontchannel_logout`.

* ``iss_and_sid`` (OIDC Front-Channel Logout with session): the sessions of the IdP whose issuer is exactly
  ``iss`` and whose ID token carried that ``sid`` end. A sid is random and known only to the IdP and
  Deskgate, so nobody else can name a session.
* ``sid_only`` (Microsoft Entra ID, which sends ``sid`` without ``iss``): the sid alone names the session,
  among the sessions of IdPs declared so.
* ``sid_or_subject`` (LemonLDAP::NG 2.16, which puts no sid in its ID tokens and sends the user's id as
  ``sid``): as ``iss_and_sid``, and the sid also names that user's sessions that have no sid. A user id is
  no secret: whoever knows it can sign the user out. That is the price of this IdP's logout.
* ``cookie`` (the IdP sends neither): the session whose cookie came with the request ends. Browsers keep our
  SameSite=Lax cookie from another site's iframes and images, so this works only for an IdP on Deskgate's
  own site, and any page can sign a user out with a link (a top-level navigation carries the cookie).
* ``off`` (the IdP does no front-channel logout): nothing of its ends here.
* ``discover``: ``iss_and_sid`` when the IdP's discovery document says
  ``frontchannel_logout_session_supported``, else ``cookie``; nothing ends while it cannot be read.

So a request naming a session (``iss`` + ``sid``, or ``sid`` alone) ends the sessions it names and never
falls back to the cookie; one with ``iss`` but no ``sid`` ends nothing; one with neither ends the cookie's
session only when that session's IdP is a ``cookie`` IdP. Every IdP except an ``off`` one may end a
session by its real sid, whatever it declares: a sid cannot be guessed, and discovery may be wrong.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from deskgate.crypto import digest
from deskgate.errors import DeskgateError
from deskgate.identity.oidc.discovery import ProviderMetadata
from deskgate.identity.presets import PRESETS
from deskgate.identity.provider import FrontChannelLogout, ProviderConfig
from deskgate.identity.registry import ProviderRegistry
from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SessionRecord

MetadataOf = Callable[[ProviderConfig], Awaitable[ProviderMetadata]]


def declared_mode(config: ProviderConfig) -> FrontChannelLogout:
    """The IdP's own setting, else its preset's default (``discover`` for a preset this version lacks)."""
    if config.frontchannel_logout is not None:
        return config.frontchannel_logout
    preset = PRESETS.get(config.preset)
    return preset.frontchannel_logout if preset is not None else "discover"


@dataclass(frozen=True, slots=True)
class FrontChannelOutcome:
    ended: list[SessionRecord] = field(default_factory=list)
    cookie_session_ended: bool = False  # then the answer also deletes the browser's cookie


class FrontChannel:
    """Applies the rules above; `metadata` reads an IdP's (cached) discovery document for ``discover``."""

    def __init__(self, providers: ProviderRegistry, sessions: Sessions, metadata: MetadataOf) -> None:
        self._providers = providers
        self._sessions = sessions
        self._metadata = metadata

    async def logout(self, *, iss: str | None, sid: str | None, cookie: str | None) -> FrontChannelOutcome:
        if sid:
            ended = await self._by_sid(iss, sid)
            own = digest(cookie) if cookie else None
            return FrontChannelOutcome(ended, any(record.id_hash == own for record in ended))
        if iss:  # the spec sends both or neither: half a name names nobody
            return FrontChannelOutcome()
        return await self._by_cookie(cookie)

    async def _by_sid(self, iss: str | None, sid: str) -> list[SessionRecord]:
        ended: list[SessionRecord] = []
        for config in await self._providers.all():
            mode = declared_mode(config)
            if mode == "off":
                continue
            if iss is None:
                if mode != "sid_only":
                    continue
            elif config.issuer is None or config.issuer != iss:  # exactly as configured (discovery pins it)
                continue
            ended += await self._sessions.end_matching(idp=config.name, idp_session_id=sid)
            if mode == "sid_or_subject":
                ended += await self._sessions.end_matching(
                    idp=config.name, subject=sid, only_without_sid=True
                )
        return ended

    async def _by_cookie(self, cookie: str | None) -> FrontChannelOutcome:
        record = await self._sessions.resolve(cookie)
        if record is None:
            return FrontChannelOutcome()
        try:
            config = await self._providers.get(record.idp)
        except DeskgateError:  # deleted meanwhile (which ends its sessions anyway)
            return FrontChannelOutcome()
        if await self._effective_mode(config) != "cookie":
            return FrontChannelOutcome()
        ended = await self._sessions.end(cookie)
        return FrontChannelOutcome([ended], True) if ended is not None else FrontChannelOutcome()

    async def _effective_mode(self, config: ProviderConfig) -> FrontChannelLogout | None:
        mode = declared_mode(config)
        if mode != "discover":
            return mode
        if config.protocol != "oidc":
            return "cookie"
        try:
            metadata = await self._metadata(config)
        except DeskgateError:  # unknown, so the request is not believed
            return None
        return "iss_and_sid" if metadata.frontchannel_logout_session_supported else "cookie"
