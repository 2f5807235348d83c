"""Everything a running Deskgate needs, built once from the settings: the framework-free core.

The web layer, the CLI and the tests all build a `Services` the same way, so there is no second
implementation of anything.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from deskgate.admin.accounts import AdminAccounts
from deskgate.admin.failure_counts import SqlFailureCounts
from deskgate.admin.sessions import admin_sessions, end_admin_sessions_through
from deskgate.admin.setup import AdminSetup
from deskgate.admin.throttle import SignInThrottle
from deskgate.audit import AuditEvent, AuditLog
from deskgate.crypto import SecretBox
from deskgate.errors import ConfigError, NotFound
from deskgate.identity.oidc.client import RelyingParty
from deskgate.identity.provider import ProviderConfig
from deskgate.identity.registry import ProviderRegistry
from deskgate.identity.saml.keys import SpKeys
from deskgate.jsm import JsmClient
from deskgate.login.connection_test import ConnectionTests
from deskgate.login.logout import LogoutReplayGuard
from deskgate.login.page import LoginPageStore
from deskgate.login.pipeline import LoginPipeline
from deskgate.login.states import SEAL_PURPOSE, LoginStates
from deskgate.portal.access import RecentGrants
from deskgate.portal.catalogue import Catalogue
from deskgate.portal.connection import JiraSettings, JsmClients, audit_refusal
from deskgate.portal.desks import DeskSettings
from deskgate.portal.preferences import CustomerPreferences
from deskgate.portal.provisioning import CustomerLinks, CustomerProvisioning
from deskgate.portal.ratelimit import CustomerLimits
from deskgate.portal.retention import purge_submissions
from deskgate.portal.submissions import Submissions, SubmissionWorker
from deskgate.security.back_channel import back_channel_client
from deskgate.sessions.blocks import SignInBlocks
from deskgate.sessions.redis_store import RedisSessionStore
from deskgate.sessions.service import Sessions
from deskgate.sessions.store import SessionStore, SqlSessionStore
from deskgate.settings import Settings
from deskgate.startup import prepare_database
from deskgate.store import db
from deskgate.store.seeds import SettingsFileSeeds

CALLBACK_PATH = "/plugins/servlet/oauth/callback"
FRONTCHANNEL_LOGOUT_PATH = "/plugins/servlet/oauth/logout"
BACKCHANNEL_LOGOUT_PATH = "/plugins/servlet/oauth/backchannel-logout"
POST_LOGOUT_PATH = "/logged-out"
USER_AGENT = "Deskgate/0.1"
HOUSEKEEPING_INTERVAL = 600.0
HOUSEKEEPING_FIRST_AFTER = 60.0  # the first round, after a worker starts
SUBMISSION_POLL_INTERVAL = 5.0

log = logging.getLogger("deskgate")


def secret_key_for(settings: Settings) -> str:
    """The configured key; in demo mode one generated once and kept beside the SQLite file."""
    if settings.secret_key is not None:
        return settings.secret_key.get_secret_value()
    key_file = Path("var/demo-secret-key")
    if not key_file.exists():
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secrets.token_urlsafe(48))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


@dataclass
class Services:
    settings: Settings
    engine: AsyncEngine
    db: async_sessionmaker[AsyncSession]
    box: SecretBox
    http: httpx.AsyncClient
    providers: ProviderRegistry
    login_states: LoginStates
    sessions: Sessions
    audit: AuditLog
    pipeline: LoginPipeline
    logout_replay: LogoutReplayGuard
    connection_tests: ConnectionTests
    jira: JiraSettings
    jsm_clients: JsmClients
    catalogue: Catalogue
    desks: DeskSettings
    customers: CustomerProvisioning
    admins: AdminAccounts
    admin_setup: AdminSetup
    admin_sessions: Sessions
    admin_throttle: SignInThrottle
    login_page: LoginPageStore
    blocks: SignInBlocks
    preferences: CustomerPreferences
    recent_grants: RecentGrants = field(default_factory=RecentGrants)
    owns_http: bool = True
    _parties: dict[str, tuple[str, RelyingParty]] = field(default_factory=dict)

    @functools.cached_property
    def saml_keys(self) -> SpKeys:
        """The SAML SP's own keys: one per process, which keeps their private keys decrypted in memory."""
        return SpKeys(self.db, self.box, audit=self.audit)

    @property
    def callback_url(self) -> str:
        return self.settings.url(CALLBACK_PATH)

    async def relying_party(self, name: str) -> RelyingParty:
        """The RP for one IdP, rebuilt only when its configuration changed (it caches discovery and keys)."""
        config = await self.providers.get(name)
        if config.protocol == "saml":  # no relying party: callers treat it like an IdP that is unreachable
            raise NotFound(f"{name} is a SAML IdP, not an OpenID Connect or OAuth 2.0 one")
        cached = self._parties.get(name)
        if cached and cached[1].config is config:  # the registry hands out the same object until it reloads
            return cached[1]
        fingerprint = hashlib.sha256(config.model_dump_json().encode()).hexdigest()
        if cached and cached[0] == fingerprint:
            cached[1].config = config  # reloaded, unchanged: keep the RP (and its discovery and keys)
            return cached[1]
        party = RelyingParty(config, self.http, redirect_uri=self.callback_url)
        self._parties[name] = (fingerprint, party)
        return party

    async def save_provider(self, config: ProviderConfig) -> int:
        """Store an IdP; saved disabled, the customer sessions it vouched for end. Returns how many ended.

        Every path that changes an IdP comes here (console, config import, the settings file), so that
        turning an IdP off never leaves its customers signed in until their sessions expire.
        """
        await self.providers.save(config)
        if config.protocol == "saml":  # the SP's first key comes with the first SAML IdP
            await self.saml_keys.current()
        if not config.enabled or config.admin_access is None:
            why = "it no longer admits admins" if config.enabled else "it was disabled"
            await self._end_admin_sessions(config.name, why)
        return 0 if config.enabled else len(await self.sessions.end_idp(config.name))

    async def delete_provider(self, name: str) -> int:
        """Remove an IdP (NotFound if there is none of that name) and end its customer sessions; how many."""
        await self.providers.delete(name)
        await self._end_admin_sessions(name, "it was deleted")
        return len(await self.sessions.end_idp(name))

    async def _end_admin_sessions(self, idp: str, why: str) -> None:
        """Admins who signed in through `idp` lose the console with it; the audit log says so (the change
        itself is audited by whoever made it)."""
        ended = await end_admin_sessions_through(self.admin_sessions, idp)
        if ended:
            await self.audit.record(
                AuditEvent(
                    event="admin.session.end",
                    outcome="success",
                    idp=idp,
                    detail=f"{len(ended)} admin session(s) signed in through {idp} ended: {why}",
                )
            )

    async def jsm_client(self) -> JsmClient:
        """The client for the stored JSM connection (JsmNotConnected when there is none)."""
        return await self.jsm_clients.get()

    async def housekeeping(self) -> None:
        """Drop what has expired (sessions past their end, old outbox rows and delivered files, rate-limit
        buckets full again) and sum up the closed windows of the audit log's budget; the other tables clean
        themselves on write."""
        ended = await self.sessions.store.purge_expired(datetime.now(UTC))
        await self.admin_sessions.store.purge_expired(datetime.now(UTC))
        await self.admin_throttle.purge()
        await self.audit.settle()
        await purge_submissions(self.db, keep=timedelta(days=self.settings.submission_retention_days))
        await CustomerLimits.from_settings(self.settings, self.db).forget_full()
        if ended:
            log.info("housekeeping: %d expired session(s) removed", ended)

    async def housekeeping_round(self, interval: float = HOUSEKEEPING_INTERVAL) -> float:
        """One round of the background loop (`deskgate.background`); the wait before the next."""
        try:
            await self.housekeeping()
        except Exception:  # a database blip must not end the loop for good
            log.exception("housekeeping failed; trying again in %s s", interval)
        return interval

    async def deliver_submissions(self) -> int:
        """One round of the outbox worker: deliver what is due to JSM (0 when JSM is not connected)."""
        if await self.jira.get() is None:
            return 0

        async def project_key_for(desk_id: str) -> str:
            return (await self.catalogue.service_desk(desk_id)).project_key

        outbox = Submissions(self.db, await self.jsm_client(), project_key_for=project_key_for)
        return await SubmissionWorker(outbox).run_due_once()

    async def delivery_round(self, interval: float = SUBMISSION_POLL_INTERVAL) -> float:
        """Requests stored while JSM was away reach it without anyone asking again (every worker runs this
        loop: claims in the outbox make sure each submission is delivered by one of them); the wait before
        the next round, none while there is more to deliver."""
        try:
            busy = await self.deliver_submissions()
        except Exception:  # JSM or the database away for a moment: the loop outlives it
            log.exception("submission delivery round failed; trying again in %s s", interval)
            busy = 0
        return 0.0 if busy else interval

    async def aclose(self) -> None:
        await self.login_page.aclose()
        if self.owns_http:
            await self.http.aclose()
        if isinstance(self.sessions.store, RedisSessionStore):
            await self.sessions.store.aclose()
        await self.engine.dispose()


async def build_services(
    settings: Settings, *, http: httpx.AsyncClient | None = None, session_store: SessionStore | None = None
) -> Services:
    engine = db.create_engine(settings.sqlalchemy_url, pool_size=settings.database_pool_size)
    sessionmaker = db.sessionmaker(engine)
    box = SecretBox(secret_key_for(settings))
    owns_http = http is None
    if http is None:
        http = back_channel_client(timeout=settings.http_timeout_seconds, headers={"User-Agent": USER_AGENT})
    if session_store is None and settings.session_store == "redis":
        if settings.redis_url is None:  # load_settings refuses this already; Settings built by hand may not
            raise ConfigError(["redis_url: required when session_store is redis"])
        session_store = await RedisSessionStore.connect(
            settings.redis_url, box, prefix=settings.redis_key_prefix
        )
    providers = ProviderRegistry(sessionmaker, box)

    async def idp_allowed(name: str) -> bool:
        return not await providers.turned_off(name)

    sessions = Sessions(
        session_store or SqlSessionStore(sessionmaker, box),
        idle=timedelta(minutes=settings.session_idle_minutes),
        absolute=timedelta(hours=settings.session_absolute_hours),
        cache_seconds=settings.session_cache_seconds,
        idp_allowed=idp_allowed,
    )
    jira = JiraSettings(sessionmaker, box)
    audit = AuditLog(sessionmaker)
    refused = functools.partial(audit_refusal, audit)
    jsm_clients = JsmClients(http, jira, on_refused=refused, page_seconds=settings.page_budget_seconds)
    # Read mostly by pages: a catalogue refresh gives up as fast as a page would (stale data stays).
    catalogue = Catalogue(jsm_clients.page, cleared_at=jira.caches_cleared_at, ttl=settings.jsm_cache_seconds)
    desks = DeskSettings(sessionmaker, settings)
    # The customers' preferences (their time zone), cached per process for a few seconds; the customer
    # links bring the zone along with every link they read.
    preferences = CustomerPreferences(sessionmaker)
    links = CustomerLinks(sessionmaker, preferences=preferences)
    customers = CustomerProvisioning(links, jsm_clients.get, catalogue, desks)
    admins = AdminAccounts(sessionmaker)
    login_page = LoginPageStore(sessionmaker)
    blocks = SignInBlocks(sessionmaker)
    services = Services(
        settings=settings,
        engine=engine,
        db=sessionmaker,
        box=box,
        http=http,
        providers=providers,
        login_states=LoginStates(
            sessionmaker,
            SecretBox(secret_key_for(settings), purpose=SEAL_PURPOSE),
            lifetime=timedelta(seconds=settings.login_state_seconds),
        ),
        sessions=sessions,
        audit=audit,
        pipeline=LoginPipeline(sessions, extra_steps=[customers.login_step()], blocks=blocks),
        logout_replay=LogoutReplayGuard(sessionmaker),
        connection_tests=ConnectionTests(sessionmaker),
        jira=jira,
        jsm_clients=jsm_clients,
        catalogue=catalogue,
        desks=desks,
        customers=customers,
        admins=admins,
        admin_setup=AdminSetup(sessionmaker, admins),
        admin_sessions=admin_sessions(
            sessionmaker,
            idle=timedelta(minutes=settings.admin_idle_minutes),
            absolute=timedelta(hours=settings.admin_absolute_hours),
        ),
        admin_throttle=SignInThrottle(SqlFailureCounts(sessionmaker)),
        login_page=login_page,
        blocks=blocks,
        preferences=preferences,
        owns_http=owns_http,
    )
    # Migrated and seeded from the settings file under the start-up lock: any number of workers and
    # instances may start together (see deskgate.startup).
    try:
        await prepare_database(services, SettingsFileSeeds(sessionmaker, secret_key_for(settings)))
        await login_page.get()  # loaded before the first page is drawn, which cannot wait for the database
    except BaseException:
        await services.aclose()  # its pool, HTTP client and Redis connection go with the failed start
        raise
    return services
