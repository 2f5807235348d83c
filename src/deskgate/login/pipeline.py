"""What happens after the IdP vouched for someone: an explicit, ordered list of small steps.

    map_attributes  → turn the IdP's claims into Deskgate's attributes (email, names, groups…)
    refuse_blocked  → refuse a user an admin blocked (by IdP and subject, or by email through any IdP)
    apply_filters   → refuse whoever the admin's rules keep out, before anything is created for them
    (extra steps)   → e.g. provisioning the JSM customer, added by the portal
    start_session   → a brand-new session id: the browser's old one, if any, is never reused

A step that refuses a login raises `LoginDenied` carrying the rule that refused.

When the caller gives the sign-in's transaction (`LoginContext.db`), the session is added to it and exists
once the caller commits (with whatever else it added: the audit record, the spent pending sign-in), and the
blocks are asked twice: early from this worker's copy of the list (no query), and finally inside that
transaction, so that a block committed anywhere before the session is always obeyed (`sessions.blocks`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from deskgate.errors import LoginDenied
from deskgate.identity.claims import Claims
from deskgate.identity.filters import Verdict, evaluate
from deskgate.identity.mapping import MappedUser, map_claims
from deskgate.identity.provider import ProviderConfig
from deskgate.sessions.blocks import SignInBlock, SignInBlocks
from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SessionRecord


@dataclass
class LoginContext:
    config: ProviderConfig
    claims: Claims
    id_token: str | None
    user: MappedUser | None = None
    verdict: Verdict | None = None
    session_id: str | None = None
    session: SessionRecord | None = None
    next_url: str | None = None  # where the browser goes after sign-in (a desk's portal, perhaps)
    client_ip: str | None = None  # kept with the session, for the console's sessions list
    user_agent: str | None = None
    db: AsyncSession | None = None  # the sign-in's transaction, committed by the caller (see above)


Step = Callable[[LoginContext], Awaitable[None]]
BLOCKED = "blocked"  # the rule of a refusal for a user an admin blocked


async def map_attributes(ctx: LoginContext) -> None:
    ctx.user = map_claims(ctx.claims, ctx.config.mapping)


async def apply_filters(ctx: LoginContext) -> None:
    assert ctx.user is not None
    ctx.verdict = evaluate(ctx.user, ctx.claims, ctx.config.filters)
    if not ctx.verdict.allowed:
        raise LoginDenied(
            ctx.verdict.rule, ctx.verdict.reason, email=ctx.user.email, subject=ctx.claims.subject
        )


def session_attributes(user: MappedUser) -> dict[str, object]:
    """The mapped attributes as plain JSON data, as the session keeps them."""
    return {
        "email": user.email,
        "email_verified": user.email_verified,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "display_name": user.display_name,
        "groups": list(user.groups),
        "organization": user.organization,
        "extra": dict(user.extra),
    }


class LoginPipeline:
    def __init__(
        self, sessions: Sessions, extra_steps: Sequence[Step] = (), *, blocks: SignInBlocks | None = None
    ) -> None:
        self._sessions = sessions
        self._blocks = blocks
        # Blocked users are refused before the filters, and before anything is provisioned for them.
        blocking: tuple[Step, ...] = (self.refuse_blocked,) if blocks is not None else ()
        self.steps: tuple[Step, ...] = (
            map_attributes,
            *blocking,
            apply_filters,
            *extra_steps,
            self.start_session,
        )

    async def refuse_blocked(self, ctx: LoginContext) -> None:
        assert ctx.user is not None and self._blocks is not None
        email, subject = ctx.user.email, ctx.claims.subject
        if ctx.db is not None:  # asked again, authoritatively, in the transaction (start_session)
            block = await self._blocks.find_cached(idp=ctx.config.name, subject=subject, email=email)
        else:
            block = await self._blocks.find(idp=ctx.config.name, subject=subject, email=email)
        _refuse(ctx, block)

    async def start_session(self, ctx: LoginContext) -> None:
        assert ctx.user is not None
        user = ctx.user
        session_id, session = await self._sessions.start(
            idp=ctx.config.name,
            subject=ctx.claims.subject,
            email=user.email,
            display_name=user.display_name,
            attributes=session_attributes(user),
            idp_session_id=ctx.claims.session_id,
            id_token=ctx.id_token,
            client_ip=ctx.client_ip,
            user_agent=ctx.user_agent,
            db=ctx.db,
        )
        if ctx.db is not None and self._blocks is not None:
            # After the session is written, in its transaction: a block made meanwhile is either seen
            # here or finds the session when it ends the user's sessions (`sessions.blocks`). Refused,
            # nothing of the transaction is committed and the new id is never sent.
            found = await self._blocks.find(
                idp=ctx.config.name, subject=ctx.claims.subject, email=user.email, db=ctx.db
            )
            _refuse(ctx, found)
        ctx.session_id, ctx.session = session_id, session

    async def run(self, ctx: LoginContext) -> LoginContext:
        for step in self.steps:
            await step(ctx)
        return ctx


def _refuse(ctx: LoginContext, block: SignInBlock | None) -> None:
    if block is None:
        return
    assert ctx.user is not None
    email, subject = ctx.user.email, ctx.claims.subject
    same = block.idp == ctx.config.name and block.subject == subject
    how = "this account" if same else f"the email address of {block.idp}:{block.subject}"
    raise LoginDenied(BLOCKED, f"an admin blocked {how} (block {block.id})", email=email, subject=subject)


def preview(config: ProviderConfig, claims: Claims) -> tuple[MappedUser, Verdict]:
    """Map and filter without side effects: what the test-connection page shows."""
    user = map_claims(claims, config.mapping)
    return user, evaluate(user, claims, config.filters)
