"""The JSM customer behind a signed-in person, found or created once and then remembered.

    provision_customer   link by (idp, subject) → else find by e-mail (exact) → else create → on conflict
                         (a concurrent sign-in created it first) find again → add to the desk once → add to
                         the JSM organization the mapping names once (when it exists) → store
    CustomerProvisioning customer_for(session) for every portal request (one cached DB read), and the
                         login step that provisions right after sign-in when the login leads to a desk

The link is keyed by the IdP's subject, never by e-mail: a later change of address at the IdP keeps the
same JSM customer. It also records the JSM site it was made on, and is used only with a client of that
site: on another site the account id or username may be someone else's, so the customer is looked up
(or created) there again. The mapped organization is matched to a JSM organization by exact name (any case);
JSM has no lookup by name, so the site's list is read, but only until the customer is a member. An unknown
name is logged and skipped: organizations are the JSM admin's to create, never Deskgate's.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.errors import LoginDenied, NotFound
from deskgate.jsm import JsmClient, JsmConflict, JsmError
from deskgate.jsm.client import EXISTS_BUT_NOT_FOUND
from deskgate.jsm.models import Customer
from deskgate.jsm.organizations import add_to_organization, find_organization, same_name
from deskgate.login.pipeline import LoginContext, Step
from deskgate.portal.catalogue import Catalogue
from deskgate.portal.connection import JsmNotConnected, site_identity
from deskgate.portal.desks import DeskSettings, portal_target
from deskgate.portal.preferences import CustomerPreferences
from deskgate.portal.recent import LIMIT, Recent
from deskgate.sessions.store import SessionRecord
from deskgate.store.models import CustomerLinkRow, CustomerPreferenceRow
from deskgate.store.reads import read_first

CACHE_SECONDS = 5.0
ORG_PREFIX = "org:"  # an organization membership in CustomerLink.desks: "org:<id>:<name as JSM spells it>"
log = logging.getLogger("deskgate.portal")


class NoEmailAddress(LoginDenied):
    """The IdP vouched for someone without an e-mail address: JSM knows customers by e-mail only."""

    user_message = (
        "Your identity provider sent no e-mail address, and the help desk needs one. "
        "Please ask your administrator to release your e-mail address to this portal."
    )

    def __init__(self, *, subject: str | None = None) -> None:
        super().__init__("email_required", "your identity provider sent no email address", subject=subject)


@dataclass(frozen=True, slots=True)
class CustomerLink:
    idp: str
    subject: str
    jsm_user_id: str  # accountId (Cloud) or username (Data Center), as JSM gave it
    email: str
    display_name: str
    site: str  # the JSM site the account belongs to (`site_identity`)
    # Service desks the customer was added to, and (as "org:<id>:<name>", stored alongside in the same
    # JSON column, since desk ids are numbers) the JSM organizations: no schema change for a short list.
    desks: tuple[str, ...] = ()

    def in_organization(self, name: str) -> bool:
        return any(
            same_name(entry.split(":", 2)[-1], name) for entry in self.desks if entry.startswith(ORG_PREFIX)
        )


# The link and, beside it, the customer's time zone (if they chose one): one read for what each page needs.
_LINK_AND_ZONE = (
    select(*CustomerLinkRow.__table__.columns, CustomerPreferenceRow.time_zone)
    .outerjoin(
        CustomerPreferenceRow,
        (CustomerPreferenceRow.idp == CustomerLinkRow.idp)
        & (CustomerPreferenceRow.subject == CustomerLinkRow.subject),
    )
    .where(CustomerLinkRow.idp == bindparam("idp"), CustomerLinkRow.subject == bindparam("subject"))
)


class CustomerLinks:
    """CustomerLinkRow as a service; `get` is cached per process for a few seconds, `load` is fresh.
    Both answer only with a link made on `site`: a link of another site is as good as none.

    Every portal page wants the customer's link and time zone: `load` reads both in one statement and
    hands the zone to `preferences` (when given), whose cache then answers the page without a read."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        monotonic: Callable[[], float] = time.monotonic,
        cache_limit: int = LIMIT,
        preferences: CustomerPreferences | None = None,
    ) -> None:
        self._sessions = sessions
        self._preferences = preferences
        self._cache: Recent[tuple[str, str], CustomerLink] = Recent(
            CACHE_SECONDS, limit=cache_limit, monotonic=monotonic
        )

    async def load(self, idp: str, subject: str, site: str) -> CustomerLink | None:
        row = await read_first(self._sessions, _LINK_AND_ZONE, {"idp": idp, "subject": subject})
        if row is not None and self._preferences is not None:
            self._preferences.remember(idp, subject, row.time_zone)
        if row is None or row.site != site:
            return None
        link = CustomerLink(
            row.idp,
            row.subject,
            row.jsm_user_id,
            row.email,
            row.display_name,
            row.site,
            tuple(row.desks or ()),
        )
        self._cache.put((idp, subject), link)
        return link

    async def get(self, idp: str, subject: str, site: str) -> CustomerLink | None:
        cached = self._cache.get((idp, subject))
        if cached is not None and cached.value.site == site:
            return cached.value
        return await self.load(idp, subject, site)

    async def save(self, link: CustomerLink) -> None:
        row = CustomerLinkRow(
            idp=link.idp,
            subject=link.subject,
            jsm_user_id=link.jsm_user_id,
            email=link.email,
            display_name=link.display_name,
            desks=list(link.desks),
            site=link.site,
            updated_at=datetime.now(UTC),
        )
        try:
            async with self._sessions.begin() as db:
                await db.merge(row)
        except IntegrityError:  # another worker inserted the same link a moment ago: update it instead
            async with self._sessions.begin() as db:
                await db.merge(row)
        self._cache.put((link.idp, link.subject), link)

    def forget(self) -> None:
        self._cache.clear()


async def find_or_create_customer(
    client: JsmClient, search_desk_id: str, email: str, display_name: str
) -> Customer:
    """The JSM customer with exactly this e-mail, created when there is none."""
    found = await client.find_customer_by_email(search_desk_id, email)
    if found is not None:
        return found
    try:
        return await client.create_customer(email, display_name or email)
    except JsmConflict:
        # A concurrent sign-in (another worker, another IdP) created it between our search and create.
        found = await client.find_customer_by_email(search_desk_id, email)
        if found is None:
            raise JsmError(EXISTS_BUT_NOT_FOUND, operation="provision customer") from None
        return found


async def provision_customer(
    client: JsmClient,
    links: CustomerLinks,
    *,
    idp: str,
    subject: str,
    email: str | None,
    display_name: str,
    desk_id: str | None,
    search_desk_id: str | None = None,
    organization: str | None = None,
) -> CustomerLink:
    """The customer link for (idp, subject), made on first use and added to `desk_id` and to the JSM
    organization called `organization` once.

    `search_desk_id` is the desk whose customers are searched first (default: `desk_id`)."""
    site = site_identity(client.connection)
    link = await links.load(idp, subject, site)
    changed = False
    if link is None:
        if not email:
            raise NoEmailAddress(subject=subject)
        where = search_desk_id or desk_id
        if where is None:
            raise ValueError("a service desk is needed to look the customer up")
        customer = await find_or_create_customer(client, where, email, display_name)
        link = CustomerLink(idp, subject, customer.user_id, email, display_name or email, site)
        changed = True
    if desk_id is not None and desk_id not in link.desks:
        await client.add_customers(desk_id, [link.jsm_user_id])  # harmless when it already is one
        link = replace(link, desks=(*link.desks, desk_id))
        changed = True
    if organization and organization.strip() and not link.in_organization(organization):
        found = await find_organization(client, organization)
        if found is None:
            log.warning(
                "the mapped organization %r is not a JSM organization: %s %s not added to one",
                organization,
                idp,
                subject,
            )
        else:
            await add_to_organization(client, found.id, [link.jsm_user_id])
            link = replace(link, desks=(*link.desks, f"{ORG_PREFIX}{found.id}:{found.name}"))
            changed = True
    if changed:
        await links.save(link)
    return link


class CustomerProvisioning:
    """What the portal and the login pipeline use; serialises provisioning per person within a process."""

    def __init__(
        self,
        links: CustomerLinks,
        clients: Callable[[], Awaitable[JsmClient]],
        catalogue: Catalogue,
        desks: DeskSettings,
    ) -> None:
        self.links = links
        self._clients = clients
        self._catalogue = catalogue
        self._desks = desks
        self._locks: weakref.WeakValueDictionary[tuple[str, str], asyncio.Lock] = (
            weakref.WeakValueDictionary()
        )

    def _lock(self, idp: str, subject: str) -> asyncio.Lock:
        lock = self._locks.get((idp, subject))
        if lock is None:
            lock = asyncio.Lock()
            self._locks[(idp, subject)] = lock
        return lock

    async def provision(
        self,
        *,
        idp: str,
        subject: str,
        email: str | None,
        display_name: str,
        desk_id: str | None,
        organization: str | None = None,
    ) -> CustomerLink:
        async with self._lock(idp, subject):
            client = await self._clients()
            search_desk = desk_id
            if search_desk is None:
                desks = await self._catalogue.service_desks()
                if not desks:
                    raise NotFound("JSM shows the service account no service desk")
                search_desk = desks[0].id
            return await provision_customer(
                client,
                self.links,
                idp=idp,
                subject=subject,
                email=email,
                display_name=display_name,
                desk_id=desk_id,
                search_desk_id=search_desk,
                organization=organization,
            )

    async def customer_for(self, session: SessionRecord, desk_id: str | None = None) -> CustomerLink:
        """The customer behind a session; provisioned lazily (and added to `desk_id`) when needed.
        A known customer costs one database read, cached for a few seconds, and no JSM call."""
        # The client names the site the link must belong to (its connection is cached, no JSM call).
        site = site_identity((await self._clients()).connection)
        link = await self.links.get(session.idp, session.subject, site)
        if link is not None and (desk_id is None or desk_id in link.desks):
            return link
        return await self.provision(
            idp=session.idp,
            subject=session.subject,
            email=session.email,
            display_name=session.display_name,
            desk_id=desk_id,
            organization=_text(session.attributes.get("organization")),
        )

    def login_step(self) -> Step:
        """The pipeline step: provision right after sign-in when the login leads to a desk's portal."""

        async def provision_jsm_customer(ctx: LoginContext) -> None:
            # Done at sign-in so that the first portal page is fast; a JSM outage must not block the
            # sign-in itself (the portal provisions lazily on the first visit), a missing e-mail does.
            target = portal_target(ctx.next_url)
            if target is None or ctx.user is None:
                return
            if not (await self._desks.get(target.desk_id)).sso_enabled:
                return
            if not ctx.user.email:
                raise NoEmailAddress(subject=ctx.claims.subject)
            try:
                await self.provision(
                    idp=ctx.config.name,
                    subject=ctx.claims.subject,
                    email=ctx.user.email,
                    display_name=ctx.user.display_name,
                    desk_id=target.desk_id,
                    organization=ctx.user.organization,
                )
            except (JsmNotConnected, JsmError, NotFound) as exc:
                log.warning("provisioning at sign-in deferred to the first portal visit: %s", exc)

        return provision_jsm_customer


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None
