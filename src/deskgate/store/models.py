"""The database schema (SQLAlchemy 2 declarative). Changes go through an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    false,
)
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
    """A sign-in in progress as versions before 0019 kept it (now sealed in the browser's login cookie):
    read only to finish sign-ins such a version started, until a later contract migration drops it."""

    __tablename__ = "login_states"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    browser_hash: Mapped[str] = mapped_column(String(64))  # binds the flow to the browser that started it
    idp: Mapped[str] = mapped_column(String(63))
    purpose: Mapped[str] = mapped_column(String(16))  # "login" or "test"
    nonce: Mapped[str] = mapped_column(String(128))
    code_verifier: Mapped[str | None] = mapped_column(String(128))
    next_url: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SpentLoginStateRow(Base):
    """A sign-in's state that was used: kept until a login cookie for it would have expired anyway."""

    __tablename__ = "login_states_spent"

    state_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
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
    client_ip: Mapped[str | None] = mapped_column(String(64))  # where the sign-in came from (0013)
    user_agent: Mapped[str | None] = mapped_column(String(512))

    __table_args__ = (
        Index("ix_sessions_idp_subject", "idp", "subject"),
        Index("ix_sessions_idp_sid", "idp", "idp_session_id"),
    )


class LogoutTokenSeenRow(Base):
    """`jti` values of accepted back-channel logout tokens, so that a replay is refused."""

    __tablename__ = "logout_tokens_seen"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(issuer + jti)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SamlAssertionSeenRow(Base):
    """Ids of accepted SAML assertions, each accepted once by any worker or instance (the primary key)."""

    __tablename__ = "saml_assertions_seen"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256(idp + assertion id)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class SamlSpKeyRow(Base):
    """One of the SAML SP's own key pairs: the private key only ever stored encrypted (`deskgate.crypto`).

    ``state`` moves next → current → retiring → retired (`deskgate.identity.saml.keys`). ``slot`` repeats
    the state for the two states that allow one key at most ("next", "current") and is NULL otherwise: its
    unique constraint is what lets workers that start together create the first key without a lock.
    """

    __tablename__ = "saml_sp_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    slot: Mapped[str | None] = mapped_column(String(16), unique=True)
    private_key_encrypted: Mapped[str] = mapped_column(Text)
    certificate_pem: Mapped[str] = mapped_column(Text)  # public: published in the SP's metadata
    created_at: Mapped[datetime]
    changed_at: Mapped[datetime]


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
    # login, logout.rp, logout.frontchannel, logout.backchannel, admin.…; indexed for the console's filters
    event: Mapped[str] = mapped_column(String(64), index=True)
    outcome: Mapped[str] = mapped_column(String(16))  # success, refused, failure
    idp: Mapped[str | None] = mapped_column(String(63))
    subject: Mapped[str | None] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    error_id: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    # A configuration change: [{"field", "before", "after"}], secrets masked (deskgate.changes).
    changes: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # The request that wrote it (`deskgate.observability.context`): the id its page or answer showed.
    request_id: Mapped[str | None] = mapped_column(String(100), index=True)


class JsmConnectionRow(Base):
    """The one JSM site Deskgate serves (id 1): connection settings, the service account's secret encrypted."""

    __tablename__ = "jsm_connection"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]]  # JsmConnection without its secrets
    secret_encrypted: Mapped[str | None] = mapped_column(Text)  # api_token (Cloud) or PAT (Data Center)
    updated_at: Mapped[datetime]
    # When `deskgate jira refresh` last ran: every worker of every instance clears its JSM caches on seeing it.
    caches_cleared_at: Mapped[datetime | None]


class ServiceDeskSettingRow(Base):
    """Per service desk: is SSO on for it, and which request types its portal shows (None: all)."""

    __tablename__ = "service_desk_settings"

    desk_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    sso_enabled: Mapped[bool] = mapped_column(default=True)
    visible_request_types: Mapped[list[str] | None] = mapped_column(JSON)
    updated_at: Mapped[datetime]


class CustomerLinkRow(Base):
    """IdP subject ↔ JSM customer, so that later requests cost no lookup."""

    __tablename__ = "customer_links"

    idp: Mapped[str] = mapped_column(String(63), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    jsm_user_id: Mapped[str] = mapped_column(String(255), index=True)
    email: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str] = mapped_column(String(255))
    desks: Mapped[list[str]] = mapped_column(JSON, default=list)  # service desks it was added to
    # The JSM site the account belongs to (`deskgate.portal.connection.site_identity`): a link of another
    # site is never used, since its account id or username may name someone else there.
    site: Mapped[str] = mapped_column(Text, server_default="")
    updated_at: Mapped[datetime]


class SubmissionRow(Base):
    """A customer's write (a new request, or a comment on one), stored before JSM is called, until JSM has
    it (exactly once). See `deskgate.portal.outbox`."""

    __tablename__ = "submissions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), server_default="request")  # request | comment
    marker: Mapped[str] = mapped_column(String(64), unique=True)  # finds an earlier attempt after a timeout
    idp: Mapped[str] = mapped_column(String(63))
    subject: Mapped[str] = mapped_column(String(255))
    jsm_user_id: Mapped[str] = mapped_column(String(255))
    desk_id: Mapped[str] = mapped_column(String(32))
    request_type_id: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(Text)
    field_values: Mapped[dict[str, Any]]
    state: Mapped[str] = mapped_column(String(16))  # pending, sending, done, failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    # request: the issue made (or adopted); comment: the request it is posted to, from the start.
    issue_key: Mapped[str | None] = mapped_column(String(64))
    comment_id: Mapped[str | None] = mapped_column(String(64))  # comment: JSM's id once posted
    # Sticky until JSM is known to have it or surely not: an earlier try may have been carried out.
    outcome_unknown: Mapped[bool] = mapped_column(Boolean, server_default=false())
    unclear_at: Mapped[datetime | None]  # when the last unclear try ended; JSM is searched after + lag
    first_attempt_at: Mapped[datetime | None]  # an earlier attempt's result was created after this
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    __table_args__ = (
        Index("ix_submissions_due", "state", "next_attempt_at"),
        Index("ix_submissions_customer", "idp", "subject", "created_at"),
    )


class SubmissionFileRow(Base):
    """An attachment of a submission, kept until JSM has it."""

    __tablename__ = "submission_files"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    submission_id: Mapped[str] = mapped_column(
        String(64), ForeignKey("submissions.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger)
    content: Mapped[bytes] = mapped_column(LargeBinary)


class AdminAccountRow(Base):
    """A local admin of the console; only an argon2id hash of the password is kept."""

    __tablename__ = "admin_accounts"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    password_hash: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    last_login_at: Mapped[datetime | None]


class AdminSetupTokenRow(Base):
    """The one-time link that creates the first admin; the token itself is only ever stored hashed."""

    __tablename__ = "admin_setup_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime]


class AdminSessionRow(Base):
    """A signed-in admin. Its own table, so that a customer session can never stand in for one."""

    __tablename__ = "admin_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]
    last_seen_at: Mapped[datetime]
    expires_at: Mapped[datetime] = mapped_column(index=True)


class LoginPageRow(Base):
    """The customer sign-in page and portal branding (id 1): `LoginPageSettings` as JSON."""

    __tablename__ = "login_page"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    config: Mapped[dict[str, Any]]
    updated_at: Mapped[datetime]


class SettingsFileSeedRow(Base):
    """One entry of the settings file (an IdP, the JSM connection, the login page) as last applied.

    The fingerprint is an HMAC of the entry, secrets included: the entry is applied again only when the
    file changes it, so edits made in the console or with the CLI in between survive a restart.
    """

    __tablename__ = "settings_file_seeds"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64))
    applied_at: Mapped[datetime]


class AdminSignInFailureRow(Base):
    """Failed admin sign-ins in a row, per client address and user name and per address: the memory of
    `deskgate.admin.throttle`, shared by every worker. Keyed by a digest, so the table holds no user names
    (a name field sometimes receives a password)."""

    __tablename__ = "admin_sign_in_failures"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime] = mapped_column(index=True)  # quiet long enough: forgotten
    blocked_until: Mapped[datetime]  # no attempt is checked before then


class AuditBudgetRow(Base):
    """Anonymous failures of one kind from one client address in the current window: how many there were
    (`deskgate.audit_budget` records the first few one by one and counts the rest), shared by every worker.
    """

    __tablename__ = "audit_budgets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest of (event, client address)
    event: Mapped[str] = mapped_column(String(64))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    window_start: Mapped[datetime] = mapped_column(index=True)  # closed windows are summed up, then go
    seen: Mapped[int] = mapped_column(Integer)
    # Set by the count that opened this window: how many the window before it left unrecorded, from when.
    carried: Mapped[int] = mapped_column(Integer)
    carried_since: Mapped[datetime]


class TokenBucketRow(Base):
    """One per-customer limit's bucket (`deskgate.portal.token_buckets`): the tokens left when it was last
    taken from, and when (epoch seconds, so one CASE expression refills it on every database)."""

    __tablename__ = "token_buckets"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # digest of (limit name, customer)
    tokens: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[float] = mapped_column(Float, index=True)  # long untouched: full, so forgotten


class SignInBlockRow(Base):
    """A user an admin blocked: refused at sign-in through `idp` as `subject`, and through any IdP with
    `email` (kept lower-case), until unblocked."""

    __tablename__ = "sign_in_blocks"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    idp: Mapped[str] = mapped_column(String(63))
    subject: Mapped[str] = mapped_column(String(255))
    email: Mapped[str | None] = mapped_column(String(320), index=True)
    display_name: Mapped[str] = mapped_column(String(255))
    blocked_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime]

    __table_args__ = (Index("ix_sign_in_blocks_idp_subject", "idp", "subject"),)


class CustomerPreferenceRow(Base):
    """What a customer chose on their account page, by IdP subject (see `deskgate.portal.preferences`)."""

    __tablename__ = "customer_preferences"

    idp: Mapped[str] = mapped_column(String(63), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    time_zone: Mapped[str | None] = mapped_column(String(64))  # an IANA zone name; None: the browser's
    updated_at: Mapped[datetime]
