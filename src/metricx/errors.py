"""Typed errors: every failure a user can cause maps to one status and one JSON shape."""

from __future__ import annotations

from typing import Any


class MetricxError(Exception):
    """Base error rendered as {"error": code, "detail": ..., "fields": [...]}."""

    status_code = 500
    code = "internal_error"

    def __init__(
        self, detail: str | None = None, *, fields: list[str] | None = None, **extra: Any
    ) -> None:
        self.detail = detail or self.__class__.__doc__ or self.code
        self.fields = fields or []
        self.extra = extra
        super().__init__(self.detail)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of this error."""
        body: dict[str, Any] = {"error": self.code, "detail": self.detail, "fields": self.fields}
        body.update(self.extra)
        return body


class BadRequest(MetricxError):
    """The request is malformed."""

    status_code = 400
    code = "bad_request"


class ValidationFailed(MetricxError):
    """A field has an invalid value."""

    status_code = 422
    code = "validation_error"


class NotAuthenticated(MetricxError):
    """Authentication is required."""

    status_code = 401
    code = "not_authenticated"


class Forbidden(MetricxError):
    """You do not have the role this action needs."""

    status_code = 403
    code = "forbidden"


class NotFound(MetricxError):
    """The resource does not exist or is not yours."""

    status_code = 404
    code = "not_found"


class Conflict(MetricxError):
    """The request conflicts with the current state."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(MetricxError):
    """The request body is too large."""

    status_code = 413
    code = "payload_too_large"


class RateLimited(MetricxError):
    """Too many requests; try again later."""

    status_code = 429
    code = "rate_limited"

    def __init__(self, detail: str | None = None, *, retry_after: int = 60, **extra: Any) -> None:
        super().__init__(detail, retry_after=retry_after, **extra)
        self.retry_after = retry_after


class ServiceUnavailable(MetricxError):
    """A backing service is unavailable; try again shortly."""

    status_code = 503
    code = "service_unavailable"
