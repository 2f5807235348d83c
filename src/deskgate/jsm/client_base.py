"""What every `JsmClient` call goes through: the transport (auth, retries, errors) and the pager.

`JsmClient` is built in layers so that each module reads in one sitting: this base holds the connection,
`deskgate.jsm.attachments` adds the file operations, `deskgate.jsm.client` the rest.
"""

from __future__ import annotations

import httpx

from deskgate.jsm.connection import JsmConnection
from deskgate.jsm.flavour import Flavour
from deskgate.jsm.paging import Pages
from deskgate.jsm.transport import JsmTransport, RetryPolicy

SD = "/rest/servicedeskapi"


class JsmClientBase:
    def __init__(
        self,
        http: httpx.AsyncClient,
        connection: JsmConnection,
        *,
        retry: RetryPolicy | None = None,
        page_size: int = 100,
    ) -> None:
        self.connection = connection
        self.flavour: Flavour = connection.flavour
        self.page_size = page_size
        self._t = JsmTransport(http, connection, retry or RetryPolicy())
        self._pages = Pages(self._t, connection, page_size)

    @property
    def transport(self) -> JsmTransport:
        """For operations kept in their own modules (`deskgate.jsm.organizations`)."""
        return self._t

    @property
    def pages(self) -> Pages:
        return self._pages
