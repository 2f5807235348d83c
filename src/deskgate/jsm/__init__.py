"""Jira Service Management: the connection, the client, its models and errors (no web framework here).

`deskgate.jsm.emulator` is an in-memory JSM for tests, benchmarks and the demo (the one Starlette user).
"""

from deskgate.jsm.client import JsmClient
from deskgate.jsm.connection import JsmConnection
from deskgate.jsm.errors import (
    JsmAuthError,
    JsmBadRequest,
    JsmConflict,
    JsmError,
    JsmNotFound,
    JsmRateLimited,
    JsmUnavailable,
)
from deskgate.jsm.files import AttachmentDownload
from deskgate.jsm.transport import RetryPolicy

__all__ = [
    "AttachmentDownload",
    "JsmAuthError",
    "JsmBadRequest",
    "JsmClient",
    "JsmConflict",
    "JsmConnection",
    "JsmError",
    "JsmNotFound",
    "JsmRateLimited",
    "JsmUnavailable",
    "RetryPolicy",
]
