"""JSM organizations: find one by name, a desk's, add customers to one. Functions over a `JsmClient`.

JSM's organization API knows organizations by id only, and has no search by name: `find_organization`
reads the site's whole (paged) list and compares names exactly, ignoring case. Deskgate never creates an
organization; an unknown name is the admin's to fix in JSM.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from deskgate.jsm.client import SD, JsmClient
from deskgate.jsm.endpoints import JsmId


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    name: str


def _organization(raw: Any) -> Organization:
    return Organization(id=str(raw.get("id") or ""), name=str(raw.get("name") or ""))


def same_name(a: str, b: str) -> bool:
    """Exact name equality, ignoring case and surrounding space."""
    return bool(a.strip()) and a.strip().casefold() == b.strip().casefold()


async def organizations(client: JsmClient) -> tuple[Organization, ...]:
    """Every organization of the site (not experimental: no X-ExperimentalApi header)."""
    return await client.pages.read_all(SD.organizations(), _organization)


async def desk_organizations(client: JsmClient, desk_id: str) -> tuple[Organization, ...]:
    """The organizations associated with a service desk (whose requests may be shared with them)."""
    return await client.pages.read_all(SD.desk_organizations(desk=JsmId(desk_id)), _organization)


async def find_organization(client: JsmClient, name: str) -> Organization | None:
    """The organization called exactly `name` (any case), or None."""
    if not name.strip():
        return None
    return next((o for o in await organizations(client) if same_name(o.name, name) and o.id), None)


async def add_to_organization(client: JsmClient, organization_id: str, user_ids: Sequence[str]) -> None:
    """Make users members of an organization (204 also when they already are, so retrying is safe).
    The body names users as desks do: accountIds on Cloud, usernames on Data Center."""
    await client.transport.send(
        SD.add_to_organization(organization=JsmId(organization_id)),
        json=client.flavour.add_customers_body(user_ids),
    )
