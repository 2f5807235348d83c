"""The database schema (SQLAlchemy 2 declarative). Changes go through an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Index, Integer, String, Text, TypeDecorator
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every database (SQLite hands back naive values otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime(), dict[str, Any]: JSON}


class IdentityProviderRow(Base):
    """One IdP's configuration; the client secret only ever stored encrypted."""

    __tablename__ = "identity_providers"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[dict[str, Any]]  # ProviderConfig without client_secret
    client_secret_encrypted: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class LoginStateRow(Base):
    """A sign-in in progress: state, nonce and PKCE verifier kept server-side, single-use, short-lived."""

    __tablename__ = "login_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))  # binds the flow to the browser that started it
    idp: Mapped[str] = mapped_column(String(63))
    purpose: Mapped[str] = mapped_column(String(16))  # "login" or "test"
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SessionRow(Base):
    """A signed-in customer. Keyed by the SHA-256 of the cookie value, so the table yields no cookies."""

    __tablename__ = "sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    idp: Mapped[str] = mapped_column(String(63))
    subject: Mapped[str] = mapped_column(String(255))
    idp_session_id: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255))
    attributes: Mapped[dict[str, Any]]
    id_token_encrypted: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (
        Index("ix_sessions_idp_subject", "idp", "subject"),
        Index("ix_sessions_idp_sid", "idp", "idp_session_id"),
    )


class LogoutTokenSeenRow(Base):
    """`jti` values of accepted back-channel logout tokens, so that a replay is refused."""

    __tablename__ = "logout_tokens_seen"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(issuer + jti)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ConnectionTestRow(Base):
    """The outcome of an admin's test connection, shown on the admin page (never a customer session)."""

    __tablename__ = "connection_tests"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    idp: Mapped[str] = mapped_column(String(63), index=True)
    created_at: Mapped[datetime]
    result: Mapped[dict[str, Any]]


class AuditEventRow(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    at: Mapped[datetime] = mapped_column(index=True)
    event: Mapped[str] = mapped_column(
        String(64)
    )  # login, logout.rp, logout.frontchannel, logout.backchannel…
    outcome: Mapped[str] = mapped_column(String(16))  # success, refused, failure
    idp: Mapped[str | None] = mapped_column(String(63))
    subject: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    error_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
