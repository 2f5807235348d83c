"""Jira configuration: the service account, the connection check, and the service desks' substitute links."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
