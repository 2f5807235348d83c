"""Attribute mapping and user filter editors (per IdP), each with a preview on the last test's claims."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
