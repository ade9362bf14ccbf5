"""Mounts every attribution router on the app (the one hook main.py calls)."""

from __future__ import annotations

from fastapi import FastAPI

from metricx.attribution import pixel_router, router, webhook_router


def install(app: FastAPI) -> None:
    """Include the pixel, webhook and workspace-scoped attribution routes."""
    app.include_router(pixel_router.router)
    app.include_router(webhook_router.router)
    app.include_router(router.router)

    async def _close_limiter(app: FastAPI) -> None:
        limiter = getattr(app.state, "pixel_limiter", None)
        if limiter is not None:
            await limiter.close()

    app.state.shutdown_hooks.append(_close_limiter)
