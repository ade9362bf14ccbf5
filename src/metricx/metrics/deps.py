"""Request dependencies of the metrics layer: the clock timeframes are resolved against."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from metricx.metrics.timeframes import Clock, system_clock


async def get_clock(request: Request) -> Clock:
    """The app's clock: real time, unless a test froze it on app.state.clock."""
    return getattr(request.app.state, "clock", system_clock)  # type: ignore[no-any-return]


ClockDep = Annotated[Clock, Depends(get_clock)]
