"""How Deskgate reaches JSM: the site, the deployment type and the service account's credentials."""

from __future__ import annotations

import base64
import ipaddress
import re
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from deskgate.jsm.flavour import Flavour, flavour_for

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _site_url(value: str) -> str:
    """A site's base URL, checked (https unless on this machine) and without a trailing slash."""
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an absolute URL such as https://example.atlassian.net")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must use https (plain http is accepted only for a site on this machine)")
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError("must not contain credentials, a query or a fragment")
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"


class JsmConnection(BaseModel):
    """The JSM site Deskgate talks to. Cloud: Basic auth with the service account's email and an API
    token. Data Center: a personal access token, sent as a Bearer token."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    site_url: str = Field(
        description="The JSM site, e.g. https://example.atlassian.net or https://jira.example.com/jira "
        "(https; plain http only for a site on this machine)."
    )
    deployment: Literal["cloud", "datacenter"] = Field("cloud", description="Jira Cloud or Data Center.")
    email: str | None = Field(None, description="Cloud: the service account's e-mail address.")
    api_token: SecretStr | None = Field(None, description="Cloud: an API token of the service account.")
    personal_access_token: SecretStr | None = Field(
        None, description="Data Center: a personal access token of the service account."
    )
    request_type_field: str = Field(
        "customfield_10010",
        pattern=r"^customfield_\d+$",
        description="The id of JSM's 'Customer Request Type' field (Jira admin → Custom fields); "
        "read from issue searches to know each request's type and service desk.",
    )
    timeout_seconds: float = Field(10.0, gt=0, le=300, description="Timeout for one call to JSM.")
    confluence_url: str | None = Field(
        None,
        description="Data Center: the Confluence that holds the desks' knowledge bases, e.g. "
        "https://confluence.example.com, whose pages are read with the service account's token to show an "
        "article's body (without it, or when Confluence refuses the token, articles show their excerpt). "
        "Cloud reads the pages from the site's own Confluence (/wiki) and ignores this.",
    )

    @field_validator("site_url")
    @classmethod
    def _check_site_url(cls, value: str) -> str:
        return _site_url(value)

    @field_validator("confluence_url")
    @classmethod
    def _check_confluence_url(cls, value: str | None) -> str | None:
        return _site_url(value) if value and value.strip() else None

    @model_validator(mode="after")
    def _check_credentials(self) -> JsmConnection:
        problems: list[str] = []
        if self.deployment == "cloud":
            if not self.email:
                problems.append("email: required for Jira Cloud (the service account's e-mail address)")
            elif not _EMAIL.match(self.email):
                problems.append(f"email: {self.email!r} is not an e-mail address")
            if self.api_token is None or not self.api_token.get_secret_value():
                hint = " (personal_access_token is for Data Center)" if self.personal_access_token else ""
                problems.append(f"api_token: required for Jira Cloud{hint}")
        elif self.personal_access_token is None or not self.personal_access_token.get_secret_value():
            hint = " (email and api_token are for Cloud)" if self.api_token else ""
            problems.append(f"personal_access_token: required for Jira Data Center{hint}")
        if problems:
            raise ValueError("; ".join(problems))
        return self

    @property
    def flavour(self) -> Flavour:
        return flavour_for(self.deployment)

    def url(self, path: str) -> str:
        """The absolute URL of an API path such as /rest/servicedeskapi/servicedesk."""
        return self.site_url + path

    def auth_headers(self) -> dict[str, str]:
        if self.deployment == "cloud":
            assert self.email is not None and self.api_token is not None  # checked on creation
            pair = f"{self.email}:{self.api_token.get_secret_value()}".encode()
            return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
        assert self.personal_access_token is not None
        return {"Authorization": "Bearer " + self.personal_access_token.get_secret_value()}
