"""Which failures are 'the database is unavailable' (503, retry) and which are bugs (500)."""

from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc

from metricx.db import database_unavailable


class ConnectionDoesNotExistError(Exception):
    """Stands in for asyncpg's error of the same name (matched by name)."""


def _chained(outer: Exception, cause: BaseException) -> Exception:
    outer.__cause__ = cause
    return outer


@pytest.mark.parametrize(
    ("error", "down"),
    [
        (sa_exc.TimeoutError("QueuePool limit reached"), True),
        (ConnectionRefusedError(111, "refused"), True),
        (TimeoutError(), True),
        (sa_exc.OperationalError("SELECT 1", {}, Exception("gone")), True),
        (sa_exc.DBAPIError("SELECT 1", {}, Exception("x"), connection_invalidated=True), True),
        (_chained(RuntimeError("wrapped"), ConnectionDoesNotExistError("closed")), True),
        (sa_exc.IntegrityError("INSERT", {}, Exception("duplicate key")), False),
        (sa_exc.DBAPIError("SELECT 1", {}, Exception("syntax error")), False),
        (ValueError("bad input"), False),
        # Concurrent work (a TaskGroup) reports an outage inside a group.
        (ExceptionGroup("tasks", [ValueError("x"), ConnectionRefusedError(111, "no")]), True),
        (ExceptionGroup("tasks", [ValueError("x")]), False),
        (None, False),
    ],
)
def test_database_unavailable(error: BaseException | None, down: bool) -> None:
    assert database_unavailable(error) is down
