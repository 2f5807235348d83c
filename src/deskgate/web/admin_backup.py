"""Backup: export and import of the whole configuration as YAML, secrets excluded by default."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
