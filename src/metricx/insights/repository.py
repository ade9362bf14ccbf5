"""The question log, always scoped to the caller's workspace."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from metricx.models import QaLog
from metricx.tenancy import AuthContext, scoped


def add_log(session: AsyncSession, ctx: AuthContext, **fields: Any) -> QaLog:
    log = QaLog(workspace_id=ctx.workspace_id, user_id=ctx.user_id, **fields)
    session.add(log)
    return log


async def history(session: AsyncSession, ctx: AuthContext, limit: int) -> Sequence[QaLog]:
    stmt = scoped(select(QaLog), QaLog, ctx).order_by(QaLog.id.desc()).limit(limit)
    return (await session.scalars(stmt)).all()
