"""Structured logging: one event name plus fields, request id on every line."""

from __future__ import annotations

import logging
import sys

import structlog

SECRET_KEYS = ("password", "token", "secret", "authorization", "cookie", "access_token", "key")


def _redact(_logger: object, _name: str, event: dict[str, object]) -> dict[str, object]:
    for key in list(event):
        lowered = key.lower()
        if any(s in lowered for s in SECRET_KEYS) and key not in ("event", "pixel_key_prefix"):
            event[key] = "[redacted]"
    return event


def _keep(_logger: object, _name: str, event: dict[str, object]) -> dict[str, object]:
    return event


def configure_logging(level: str = "INFO", *, json: bool = False) -> None:
    """Configure structlog and the standard library to share one format."""
    logging.basicConfig(format="%(message)s", stream=sys.stderr, level=level.upper(), force=True)
    for noisy in ("uvicorn.access", "httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    # Tracebacks are rendered plain: the default (rich) formatter prints every frame's
    # local variables, and provider tokens and passwords live in locals.
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redact,
            structlog.processors.format_exc_info if json else _keep,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelName(level.upper()) if isinstance(level, str) else level
        ),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
