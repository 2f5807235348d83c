"""Active customer sessions (search, revoke) and the audit log (filters, paging, CSV export)."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
