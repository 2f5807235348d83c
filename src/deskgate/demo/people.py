"""The people of `deskgate demo`: one list, read by both sides of the demo.

The demo identity provider signs them in (``peer_accounts``: its accounts, handed to the oidc-provider peer
in its configuration) and the demo JSM knows them as customers with a history (``deskgate.demo.story``).
Because both sides read this list, whoever signs in at the demo IdP is a customer JSM already knows: they
see agents' replies, requests shared with them and their organization's members, not an empty portal.

Addresses use the reserved ``.example`` domain (RFC 2606). Passwords are printed by ``deskgate demo`` and
shown on the demo IdP's sign-in page: these are demo accounts on a loopback-only provider.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from deskgate.demo.oidc_peer_config import PeerAccount

__all__ = ["DEMO_PEOPLE", "DemoPerson", "peer_accounts", "person"]


@dataclass(frozen=True)
class DemoPerson:
    """One demo customer: ``id`` is the IdP's account id (and the ``sub`` it sends)."""

    id: str
    given_name: str
    family_name: str
    email: str
    password: str
    organization: str
    groups: tuple[str, ...] = ("customers",)

    @property
    def name(self) -> str:
        return f"{self.given_name} {self.family_name}"

    def claims(self) -> dict[str, object]:
        """What the demo IdP says about this person (OpenID Connect standard claims, plus groups and
        organization, which Deskgate's demo mapping reads)."""
        return {
            "email": self.email,
            "email_verified": True,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "name": self.name,
            "preferred_username": self.id,
            "groups": list(self.groups),
            "organization": self.organization,
        }


DEMO_PEOPLE: tuple[DemoPerson, ...] = (
    DemoPerson("ana", "Ana", "Costa", "ana.costa@lumen.example", "ana", "Lumen Labs"),
    DemoPerson(
        "ben", "Ben", "Okafor", "ben.okafor@lumen.example", "ben", "Lumen Labs", ("customers", "it-contacts")
    ),
    DemoPerson("chloe", "Chloé", "Martin", "chloe.martin@harbor.example", "chloe", "Harbor Logistics"),
)


def person(person_id: str, people: Iterable[DemoPerson] = DEMO_PEOPLE) -> DemoPerson:
    """The demo person with this account id (KeyError when there is none)."""
    found = next((p for p in people if p.id == person_id), None)
    if found is None:
        raise KeyError(person_id)
    return found


def peer_accounts(people: Iterable[DemoPerson] = DEMO_PEOPLE) -> tuple[PeerAccount, ...]:
    """The demo IdP's accounts: exactly these people, signing in with their e-mail address."""
    return tuple(PeerAccount(p.id, p.password, p.claims()) for p in people)
