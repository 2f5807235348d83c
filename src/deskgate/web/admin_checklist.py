"""The console home's set-up checklist: add an IdP → test it → connect Jira → share the links.

Each step is ticked from what is really there (never from a "done" flag the admin sets), links to the page
where it is done, and the list disappears once every step is done.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from deskgate.identity.provider import ProviderConfig
from deskgate.login.connection_test import passed
from deskgate.services import Services


@dataclass(frozen=True, slots=True)
class Step:
    title: str
    help: str
    href: str
    done: bool


async def setup_checklist(
    services: Services, providers: list[ProviderConfig], latest: Mapping[str, dict[str, Any] | None]
) -> list[Step]:
    """The four steps, or none once all are done. `latest` is each IdP's last connection test."""
    # The IdP to test next: the first one without a passed test (a draft before a live one).
    untested = [p for p in providers if not passed(latest.get(p.name))]
    target = next(iter(untested or providers), None)
    signed_in = await services.audit.query(event="login", outcome="success", limit=1)
    steps = [
        Step(
            "Add an identity provider",
            "The sign-in your customers already use: Gluu, Keycloak, Entra ID and others.",
            "/admin/idps/new",
            bool(providers),
        ),
        Step(
            "Test it",
            "A test sign-in shows what the IdP sends; a draft is offered to customers once one passes.",
            f"/admin/idps/{quote(target.name, safe='')}/test" if target else "/admin/idps/new",
            any(passed(latest.get(p.name)) for p in providers),
        ),
        Step(
            "Connect Jira",
            "The service account Deskgate raises and reads requests with.",
            "/admin/jira",
            await services.jira.get() is not None,
        ),
        Step(
            "Share the links",
            "Hand out each service desk's substitute link; ticked once a customer has signed in.",
            "/admin/jira#desks-heading",
            bool(signed_in),
        ),
    ]
    return [] if all(step.done for step in steps) else steps
