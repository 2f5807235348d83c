"""What a preset's console help says about sign-out, shared by every preset.

The help may name Deskgate's own URLs through :data:`HELP_PLACEHOLDERS`; its closing paragraph, taken
from :data:`FRONTCHANNEL_HELP`, says what the IdP's front-channel logout requests can end. A back-channel
logout token ends the session its ``sid`` names, or every session of its ``sub`` when it has no ``sid``.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from deskgate.identity.provider import FrontChannelLogout

# The URLs Deskgate shows the admin to paste into the IdP console; the only placeholders help may use.
HELP_PLACEHOLDERS = (
    "callback_url",
    "frontchannel_logout_url",
    "backchannel_logout_url",
    "post_logout_redirect_uri",
)
# Shown for {backchannel_logout_url} by a caller that does not pass the URL (services.BACKCHANNEL_LOGOUT_PATH).
BACKCHANNEL_URL_HINT = (
    "Deskgate's back-channel logout URL (<base_url>/plugins/servlet/oauth/backchannel-logout)"
)
# The closing paragraph of every preset's help: what its front-channel logout requests can end.
FRONTCHANNEL_HELP: Mapping[FrontChannelLogout, str] = MappingProxyType(
    {
        "discover": "Front-channel logout: when the IdP's discovery document says its requests name the "
        "session (frontchannel_logout_session_supported), only a request carrying iss and sid ends a "
        "session, the one it names; otherwise a request ends the session whose cookie the browser sends "
        "(browsers only send it when the IdP is on the same site as Deskgate).",
        "iss_and_sid": "Front-channel logout: the IdP names the session it ends (iss and sid); Deskgate "
        "ends that session only, and a request without them ends nothing.",
        "sid_only": "Front-channel logout: the IdP sends the session's sid without iss; Deskgate ends the "
        "session with that sid, and a request without a sid ends nothing.",
        "sid_or_subject": "Front-channel logout: the IdP sends iss and, for sessions whose ID token had no "
        "sid, the user's id as sid; Deskgate ends the sessions it names that way. Whoever knows a user's id "
        "can therefore sign that user out of Deskgate.",
        "cookie": "Front-channel logout: the IdP's requests name no session; Deskgate ends the session "
        "whose cookie the browser sends (only when the IdP is on the same site as Deskgate), so any page "
        "can sign a user out with a link.",
        "off": "Front-channel logout: the IdP does not do it, and the front-channel URL ends none of its "
        "sessions.",
    }
)
