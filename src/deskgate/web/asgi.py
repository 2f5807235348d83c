"""An importable app factory for ASGI servers that start workers themselves (uvicorn, granian).

Each worker process calls `app_from_environment()` and reads the same settings the CLI checked: the file
named by ``DESKGATE_CONFIG`` (if any) and the ``DESKGATE_*`` variables.

    uvicorn --factory deskgate.web.asgi:app_from_environment --workers 4
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from starlette.applications import Starlette

from deskgate.settings import load_settings
from deskgate.web.app import create_app

CONFIG_ENV = "DESKGATE_CONFIG"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(level: str) -> None:
    """Deskgate's own log lines (audit, errors with their ids) to stderr; the server logs its own."""
    logger = logging.getLogger("deskgate")
    logger.setLevel(level)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(LOG_FORMAT))
        logger.addHandler(handler)
        logger.propagate = False


def app_from_environment() -> Starlette:
    config = os.environ.get(CONFIG_ENV)
    settings = load_settings(Path(config) if config else None)
    configure_logging(settings.log_level)
    return create_app(settings)
