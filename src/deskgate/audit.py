"""The audit log: who signed in or out, through which IdP, and why a sign-in was refused or failed."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from deskgate.store.models import AuditEventRow

log = logging.getLogger("deskgate.audit")


@dataclass(frozen=True, slots=True)
class AuditEvent:
    event: str  # login, login.test, logout.rp, logout.frontchannel, logout.backchannel
    outcome: str  # success, refused, failure
    idp: str | None = None
    subject: str | None = None
    email: str | None = None
    client_ip: str | None = None
    error_id: str | None = None
    detail: str | None = None
    at: datetime | None = None


class AuditLog:
    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def record(self, event: AuditEvent) -> None:
        at = event.at or datetime.now(UTC)
        log.info(
            "audit event=%s outcome=%s idp=%s subject=%s client_ip=%s error_id=%s detail=%s",
            event.event,
            event.outcome,
            event.idp,
            event.subject,
            event.client_ip,
            event.error_id,
            event.detail,
        )
        async with self._sessions.begin() as db:
            db.add(
                AuditEventRow(
                    at=at,
                    event=event.event,
                    outcome=event.outcome,
                    idp=event.idp,
                    subject=event.subject,
                    email=event.email,
                    client_ip=event.client_ip,
                    error_id=event.error_id,
                    detail=(event.detail or "")[:2000] or None,
                )
            )

    async def query(
        self,
        *,
        event: str | None = None,
        outcome: str | None = None,
        idp: str | None = None,
        since: datetime | None = None,
        limit: int = 100,
    ) -> list[AuditEvent]:
        statement = select(AuditEventRow).order_by(AuditEventRow.id.desc()).limit(limit)
        if event:
            statement = statement.where(AuditEventRow.event == event)
        if outcome:
            statement = statement.where(AuditEventRow.outcome == outcome)
        if idp:
            statement = statement.where(AuditEventRow.idp == idp)
        if since:
            statement = statement.where(AuditEventRow.at >= since)
        async with self._sessions() as db:
            rows = (await db.scalars(statement)).all()
        return [
            AuditEvent(
                event=r.event,
                outcome=r.outcome,
                idp=r.idp,
                subject=r.subject,
                email=r.email,
                client_ip=r.client_ip,
                error_id=r.error_id,
                detail=r.detail,
                at=r.at,
            )
            for r in rows
        ]

    async def count_by_idp(self, *, event: str, outcome: str, since: datetime) -> dict[str, int]:
        """How many events of one kind each IdP had since a moment (the console's "logins in 24 h")."""
        statement = (
            select(AuditEventRow.idp, func.count())
            .where(AuditEventRow.event == event, AuditEventRow.outcome == outcome, AuditEventRow.at >= since)
            .group_by(AuditEventRow.idp)
        )
        async with self._sessions() as db:
            rows = (await db.execute(statement)).all()
        return {idp: int(n) for idp, n in rows if idp is not None}
