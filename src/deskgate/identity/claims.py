"""The one neutral type between identity protocols and the rest of Deskgate.

Protocol adapters (OIDC today, OAuth 2.0 userinfo-only, SAML later) turn what the IdP sent into a
frozen :class:`Claims`; mapping, filters, provisioning and sessions never learn which protocol was used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any


def _freeze(data: Mapping[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(dict(data))


@dataclass(frozen=True, slots=True)
class Claims:
    """What one IdP asserted about one person at one login.

    ``subject`` is the IdP's stable identifier (``sub``); ``raw`` holds every claim as received
    (ID token claims merged with userinfo), ``id_token`` and ``userinfo`` keep the two sources apart
    for the test-connection page.
    """

    idp: str
    issuer: str
    subject: str
    raw: Mapping[str, Any] = field(default_factory=dict)
    id_token: Mapping[str, Any] = field(default_factory=dict)
    userinfo: Mapping[str, Any] = field(default_factory=dict)
    session_id: str | None = None  # the IdP's `sid`, used by front- and back-channel logout

    def __post_init__(self) -> None:
        object.__setattr__(self, "raw", _freeze(self.raw))
        object.__setattr__(self, "id_token", _freeze(self.id_token))
        object.__setattr__(self, "userinfo", _freeze(self.userinfo))

    def get(self, path: str) -> Any:
        """Value at a dotted path (``address.country``), or None when any step is missing."""
        node: Any = self.raw
        for part in path.split("."):
            if isinstance(node, Mapping) and part in node:
                node = node[part]
            else:
                return None
        return node
