"""Login page settings: chooser or automatic redirect, IdP per email domain, button labels, branding."""

from __future__ import annotations

from starlette.routing import BaseRoute

routes: list[BaseRoute] = []
