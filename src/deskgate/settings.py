"""Typed settings from the environment (``DESKGATE_*``) and an optional YAML file.

Environment variables win over the file, so a secret can stay out of the file. `load_settings` reports
every problem at once (as `ConfigError.problems`), never just the first.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from deskgate.errors import ConfigError
from deskgate.identity.presets.entries import expand_entry
from deskgate.identity.provider import ProviderConfig
from deskgate.jsm.connection import JsmConnection
from deskgate.login.page import LoginPageSettings
from deskgate.validation import plain_message

MIN_SECRET_KEY_LENGTH = 32
MIN_METRICS_TOKEN_LENGTH = 16
# Plain characters only: the prefix is part of every key and of nothing else (no glob characters).
REDIS_KEY_PREFIX = re.compile(r"[A-Za-z0-9._:-]{1,64}")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DESKGATE_", env_nested_delimiter="__", extra="forbid")

    base_url: str = Field(
        "http://127.0.0.1:8080", description="Public URL of Deskgate, as customers reach it."
    )
    demo: bool = Field(False, description="Demo mode: generated secret key, demo identity provider.")
    secret_key: SecretStr | None = Field(
        None, description="At least 32 random characters; encrypts secrets at rest."
    )
    database_url: str = Field("sqlite:///var/deskgate.db", description="SQLite file or postgresql:// URL.")
    database_pool_size: int = Field(
        10,
        ge=1,
        le=100,
        description="PostgreSQL: connections each worker may open, each kept open once made. Instances times "
        "workers times this must stay below the server's max_connections (100 by default): 3 instances of "
        "2 workers at 10 open at most 60.",
    )
    admin_idle_minutes: int = Field(30, ge=1, description="An admin session unused this long ends.")
    admin_absolute_hours: int = Field(8, ge=1, description="An admin session ends this long after sign-in.")
    session_idle_minutes: int = Field(60, ge=1, description="A session unused this long ends.")
    session_absolute_hours: int = Field(
        12, ge=1, description="A session ends this long after sign-in regardless."
    )
    session_cache_seconds: float = Field(
        1.0,
        ge=0,
        le=1.0,
        description="Per-worker cache of session lookups; a revocation is seen within this time.",
    )
    session_store: Literal["sql", "redis"] = Field(
        "sql",
        description="Where customer sessions live: the database, or Redis (`redis_url`); admin sessions "
        "always stay in the database.",
    )
    redis_url: str | None = Field(
        None,
        description="redis://[:PASSWORD@]HOST:PORT/DB (rediss:// for TLS); needed by session_store redis.",
    )
    redis_key_prefix: str = Field(
        "deskgate:session:",
        description="What every Redis key of the session store starts with: instances sharing one Redis "
        "database need different prefixes (each one sees only its own sessions).",
    )
    login_state_seconds: int = Field(300, ge=30, le=3600, description="How long a started sign-in may take.")
    trusted_proxies: list[str] = Field(
        default_factory=list, description="IPs/CIDRs whose X-Forwarded-* we honour."
    )
    http_timeout_seconds: float = Field(10.0, gt=0, description="Timeout for calls to identity providers.")
    log_level: str = Field("INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR)$")
    log_format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per record; json: one JSON object per line (time, level, "
        "logger, message, request_id…), for a log collector; uvicorn's access and error lines too.",
    )
    # /metrics (Prometheus) is closed (404) until one of these two is set; with both, a scrape needs both.
    metrics_token: SecretStr | None = Field(
        None,
        description="A bearer token a scraper must send (Authorization: Bearer …) to read /metrics; at "
        f"least {MIN_METRICS_TOKEN_LENGTH} characters.",
    )
    metrics_allow_networks: list[str] = Field(
        default_factory=list,
        description="IPs/CIDRs that may read /metrics (the client address as trusted_proxies reveal it).",
    )
    # Per-customer limits (`deskgate.portal.ratelimit`): each is a token bucket shared by every worker and
    # instance through the database; a customer may use a whole limit at once, then one more each
    # window / limit. Too much more is refused with 429 and a page saying when to retry.
    submission_limit: int = Field(
        10,
        ge=0,
        le=100_000,
        description="Requests one customer may raise per submission window; 0 turns the limit off.",
    )
    submission_window_minutes: int = Field(
        60, ge=1, le=10_080, description="The window of the submission limit (at most a week)."
    )
    comment_limit: int = Field(
        30,
        ge=0,
        le=100_000,
        description="Comments one customer may post per comment window, on all their requests together; "
        "0 turns the limit off.",
    )
    comment_window_minutes: int = Field(
        10, ge=1, le=10_080, description="The window of the comment limit (at most a week)."
    )
    upload_limit: int = Field(
        50,
        ge=0,
        le=100_000,
        description="Files one customer may attach per upload window, counting every file of a new "
        "request or a comment; 0 turns the limit off. Below the 5 files one form may carry, a form "
        "with more files than this is refused.",
    )
    upload_window_minutes: int = Field(
        60, ge=1, le=10_080, description="The window of the upload limit (at most a week)."
    )
    submission_retention_days: int = Field(
        30,
        ge=1,
        description="Delivered and failed requests are deleted from the outbox this long after they were "
        "submitted (until then a failed one is still shown to its customer).",
    )
    idps: list[Annotated[ProviderConfig, BeforeValidator(expand_entry)]] = Field(
        default_factory=list,
        description="Identity providers to load at start. An entry may name a preset and give its inputs "
        "instead of the endpoints (keycloak: server and realm), built as the console's wizard builds it.",
    )
    jsm: JsmConnection | None = Field(
        None, description="The JSM site and service account, saved to the database at start (optional)."
    )
    login_page: LoginPageSettings | None = Field(
        None,
        description="The sign-in page and portal branding, saved to the database at start (optional; "
        "otherwise the console's settings stay).",
    )
    jsm_cache_seconds: float = Field(
        300.0, ge=0, le=86400, description="How long service desks, request types and forms are cached."
    )
    page_budget_seconds: float = Field(
        5.0,
        ge=0.5,
        le=60,
        description="How long a customer's portal page may wait for JSM. Past it the page answers anyway: "
        "from cached data (saying it may be out of date) or with a page saying the help desk is slow or "
        "unreachable and a way to try again. Each JSM call of a page is cut at this (or the connection's "
        "timeout_seconds, if shorter) and a Retry-After longer than a quarter of it (at most 1 s) is not "
        "waited for; background delivery keeps its patient retries.",
    )
    body_limit_anonymous_bytes: int = Field(
        8 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest request body an endpoint open to anyone accepts: the sign-in callback, the "
        "logouts (incl. front- and back-channel), admin sign-in and setup, and every GET. Counted as it "
        "arrives; a larger one is refused with 413 before the route sees it.",
    )
    body_limit_form_bytes: int = Field(
        64 * 1024,
        ge=4 * 1024,
        le=16 * 1024 * 1024,
        description="Largest body of any other request (console forms and the like). Upload forms follow "
        "the portal's attachment limits instead (files per form times bytes per file, plus 1 MB for the rest).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment over file values: init_settings carries the YAML file's content (see load_settings).
        return env_settings, init_settings

    @property
    def is_https(self) -> bool:
        return self.base_url.startswith("https://")

    @property
    def origin(self) -> str:
        parts = urlsplit(self.base_url)
        return f"{parts.scheme}://{parts.netloc}"

    def url(self, path: str) -> str:
        return self.origin + path

    @property
    def sqlalchemy_url(self) -> str:
        """The async driver URL for the configured database."""
        url = self.database_url
        for prefix, driver in (
            ("postgresql://", "postgresql+asyncpg://"),
            ("postgres://", "postgresql+asyncpg://"),
        ):
            if url.startswith(prefix):
                return driver + url[len(prefix) :]
        if url.startswith("sqlite:///"):
            return "sqlite+aiosqlite:///" + url[len("sqlite:///") :]
        return url


def _semantic_problems(settings: Settings) -> list[str]:
    problems: list[str] = []
    parts = urlsplit(settings.base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        problems.append("base_url: must be an absolute http(s) URL such as https://help.example.com")
    elif parts.path not in ("", "/") or parts.query or parts.fragment:
        problems.append("base_url: must not contain a path, query or fragment")
    if settings.secret_key is None and not settings.demo:
        problems.append(
            "secret_key: required outside demo mode (set DESKGATE_SECRET_KEY to 32+ random characters)"
        )
    elif (
        settings.secret_key is not None
        and len(settings.secret_key.get_secret_value()) < MIN_SECRET_KEY_LENGTH
    ):
        problems.append(f"secret_key: must be at least {MIN_SECRET_KEY_LENGTH} characters")
    if not settings.database_url.startswith(
        ("sqlite:///", "postgresql://", "postgres://", "postgresql+asyncpg://")
    ):
        problems.append("database_url: use sqlite:///PATH or postgresql://USER@HOST/DB")
    if settings.session_store == "redis" and not settings.redis_url:
        problems.append("redis_url: required when session_store is redis (e.g. redis://127.0.0.1:6379/0)")
    elif settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        problems.append("redis_url: use redis://HOST:PORT/DB, rediss://… (TLS) or unix:///PATH")
    if not REDIS_KEY_PREFIX.fullmatch(settings.redis_key_prefix):
        problems.append(
            "redis_key_prefix: 1 to 64 letters, digits and . _ : - (e.g. deskgate-eu:session:), "
            f"not {settings.redis_key_prefix!r}"
        )
    for proxy in settings.trusted_proxies:
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            problems.append(f"trusted_proxies: {proxy!r} is not an IP address or CIDR range")
    for network in settings.metrics_allow_networks:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            problems.append(f"metrics_allow_networks: {network!r} is not an IP address or CIDR range")
    token = settings.metrics_token.get_secret_value() if settings.metrics_token is not None else None
    if token is not None and (
        len(token) < MIN_METRICS_TOKEN_LENGTH or not token.isprintable() or " " in token
    ):
        problems.append(
            f"metrics_token: at least {MIN_METRICS_TOKEN_LENGTH} characters, without spaces (it is sent "
            "in a header)"
        )
    names = [idp.name for idp in settings.idps]
    problems += [
        f"idps: the name {n!r} is used twice" for n in sorted({n for n in names if names.count(n) > 1})
    ]
    return problems


def _format_validation_error(error: ValidationError) -> list[str]:
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(top level)"
        problems.append(f"{where}: {plain_message(item)}")
    return problems


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError as exc:
        raise ConfigError([f"{path}: no such file"]) from exc
    except yaml.YAMLError as exc:
        raise ConfigError([f"{path}: not valid YAML ({exc})"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{path}: the top level must be a mapping of setting names to values"])
    return data


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from file + environment (+ explicit overrides); ConfigError lists every problem."""
    values: dict[str, Any] = read_config_file(config_file) if config_file else {}
    values.update(overrides)
    try:
        settings = Settings(**values)
    except ValidationError as exc:
        problems = _format_validation_error(exc)
        # Check the rest too, so that one run lists every problem: drop the invalid keys and try again.
        invalid = {str(item["loc"][0]) for item in exc.errors() if item["loc"]}
        try:
            partial = Settings(**{k: v for k, v in values.items() if k not in invalid})
        except ValidationError:
            raise ConfigError(problems) from None
        problems += [p for p in _semantic_problems(partial) if p.split(":", 1)[0] not in invalid]
        raise ConfigError(problems) from None
    problems = _semantic_problems(settings)
    if problems:
        raise ConfigError(problems)
    return settings
