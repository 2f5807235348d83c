"""What every `JsmClient` call goes through: the transport (auth, retries, errors) and the pager.

`JsmClient` is built in layers so that each module reads in one sitting: this base holds the connection,
`deskgate.jsm.attachments` adds the file operations, `deskgate.jsm.client` the rest.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

from deskgate.jsm.connection import JsmConnection
from deskgate.jsm.endpoints import Endpoint, ServiceDeskApi, endpoints_of
from deskgate.jsm.flavour import Flavour
from deskgate.jsm.paging import Pages
from deskgate.jsm.transport import JsmTransport, OnRefused, RetryPolicy

SD = ServiceDeskApi  # the service desk API's endpoints, by operation


def allowed_endpoints(flavour: Flavour) -> tuple[Endpoint, ...]:
    """The closed list of calls a client of this flavour may make: everything the firewall lets out."""
    return endpoints_of(ServiceDeskApi, flavour.platform)


class JsmClientBase:
    def __init__(
        self,
        http: httpx.AsyncClient,
        connection: JsmConnection,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
        on_refused: OnRefused | None = None,
    ) -> None:
        self.connection = connection
        self.flavour: Flavour = connection.flavour
        self.api = self.flavour.platform
        self.page_size = page_size
        self._t = JsmTransport(
            http, connection, retry or RetryPolicy(), allowed_endpoints(self.flavour), on_refused
        )
        self._pages = Pages(self._t, connection, page_size)
        self._on_refused = on_refused

    def transport_to(self, connection: JsmConnection, endpoints: Iterable[Endpoint]) -> JsmTransport:
        """A transport to another site of the same service account (the Confluence behind the knowledge
        base), with this one's retries and refusal hook, and a firewall of its own over `endpoints`."""
        return JsmTransport(self._t.http, connection, self._t.retry, endpoints, self._on_refused)

    @property
    def transport(self) -> JsmTransport:
        """For operations kept in their own modules (`deskgate.jsm.organizations`)."""
        return self._t

    @property
    def pages(self) -> Pages:
        return self._pages
