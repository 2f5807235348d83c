"""What can go wrong when Deskgate talks to Jira Service Management, as one small tree.

    JsmError                  base: JSM's HTTP status (None if no answer), its errorMessage, the call made
    ├── JsmUnavailable        no usable answer: network failure, timeout, 5xx (after the retries allowed)
    │   └── JsmRateLimited    429 after the retries allowed; `retry_after` seconds, when JSM said
    ├── JsmAuthError          401/403: the service account's credentials or permissions are wrong
    ├── JsmNotFound           404: no such desk, request type, request, customer or attachment
    ├── JsmConflict           409, or "customer already exists": somebody else created it first
    └── JsmBadRequest         400: JSM refused the input; `error_message` and `field_errors` say why

Every class is a `DeskgateError`, so the web layer's one error boundary renders it with an error id: the
customer reads `user_message`, the operator reads `detail` (method, path, status and JSM's errorMessage;
never a credential). `JsmUnavailable.outcome_unknown` is True when a write may have been carried out even
though no answer said so (a timeout or 5xx after the request was sent): the caller must look for the effect
(see `deskgate.portal.adoption`) before trying again.
"""

from __future__ import annotations

from collections.abc import Mapping

from deskgate.errors import DeskgateError


class JsmError(DeskgateError):
    status_code = 502
    user_message = "The help desk could not handle this right now. Please try again later."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_message: str | None = None,
        field_errors: Mapping[str, str] | None = None,
        operation: str = "",
    ) -> None:
        parts = [operation, f"HTTP {status}" if status is not None else "", message]
        if error_message and error_message != message:
            parts.append(f"JSM says: {error_message}")
        if field_errors:
            parts.append("; ".join(f"{field}: {text}" for field, text in sorted(field_errors.items())))
        super().__init__(" — ".join(part for part in parts if part))
        self.status = status  # JSM's HTTP status; `status_code` is the one Deskgate answers with
        self.error_message = error_message
        self.field_errors: dict[str, str] = dict(field_errors or {})
        self.operation = operation


class JsmUnavailable(JsmError):
    status_code = 503
    user_message = "The help desk cannot be reached right now. Please try again in a few minutes."

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_message: str | None = None,
        operation: str = "",
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message, status=status, error_message=error_message, operation=operation)
        self.outcome_unknown = outcome_unknown


class JsmRateLimited(JsmUnavailable):
    user_message = "The help desk is busy right now. Please try again in a minute."

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        error_message: str | None = None,
        operation: str = "",
    ) -> None:
        super().__init__(message, status=429, error_message=error_message, operation=operation)
        self.retry_after = retry_after


class JsmAuthError(JsmError):
    status_code = 502
    user_message = "The help desk connection is not set up correctly. Please tell the administrator."


class JsmNotFound(JsmError):
    status_code = 404
    user_message = "Not found."


class JsmConflict(JsmError):
    status_code = 409
    user_message = "This already exists."


class JsmBadRequest(JsmError):
    status_code = 400
    user_message = "The help desk did not accept this. Please check what you entered."
