"""An importable app factory for ASGI servers that start workers themselves (uvicorn, granian).

Each worker process calls `app_from_environment()` and reads the same settings the CLI checked: the file
named by ``DESKGATE_CONFIG`` (if any) and the ``DESKGATE_*`` variables.

    uvicorn --factory deskgate.web.asgi:app_from_environment --workers 4
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.applications import Starlette

from deskgate.observability.logs import configure_logging
from deskgate.settings import load_settings
from deskgate.web.app import create_app

CONFIG_ENV = "DESKGATE_CONFIG"
__all__ = ["CONFIG_ENV", "app_from_environment", "configure_logging"]


def app_from_environment() -> Starlette:
    config = os.environ.get(CONFIG_ENV)
    settings = load_settings(Path(config) if config else None)
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings)
