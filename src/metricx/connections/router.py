"""Connection endpoints: parse, authorise, call one service, return."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Path, Response, UploadFile, status

from metricx.auth.deps import MAX_ID, WorkspaceCtx
from metricx.connections import service
from metricx.connections.schemas import (
    ConnectionCreate,
    ConnectionOut,
    ConnectionUpdate,
    ImportOut,
    SyncQueued,
)
from metricx.deps import SessionDep, SettingsDep, after_commit
from metricx.errors import PayloadTooLarge
from metricx.jobs.lifecycle import get_queue
from metricx.jobs.queue import JobQueue, enqueue_quietly
from metricx.sync.imports import import_csv

router = APIRouter(prefix="/api/workspaces/{workspace_id}/connections", tags=["connections"])
ConnectionId = Annotated[int, Path(ge=1, le=MAX_ID, description="Connection id")]
QueueDep = Annotated[JobQueue, Depends(get_queue)]
READ_CHUNK = 1 << 20


@router.get("", response_model=list[ConnectionOut])
async def list_connections(ctx: WorkspaceCtx, session: SessionDep) -> list[ConnectionOut]:
    """Every connection with its status, last error, last and next run."""
    return await service.list_connections(session, ctx)


@router.post("", response_model=ConnectionOut, status_code=status.HTTP_201_CREATED)
async def create_connection(
    body: ConnectionCreate,
    ctx: WorkspaceCtx,
    session: SessionDep,
    settings: SettingsDep,
    queue: QueueDep,
) -> ConnectionOut:
    """Connect an account with tokens (admin); the first sync is queued after commit."""
    conn, _ = await service.create_connection(session, ctx, settings, body)
    if conn.next_sync_at is not None:
        conn_id, ws_id = conn.id, ctx.workspace_id
        after_commit(
            session,
            lambda: enqueue_quietly(
                queue, "sync_connection", connection_id=conn_id, workspace_id=ws_id
            ),
        )
    return service.to_out(conn)


@router.get("/{connection_id}", response_model=ConnectionOut)
async def get_connection(
    connection_id: ConnectionId, ctx: WorkspaceCtx, session: SessionDep
) -> ConnectionOut:
    """One connection."""
    conn = await service.get_connection(session, ctx, connection_id)
    return service.to_out(conn)


@router.patch("/{connection_id}", response_model=ConnectionOut)
async def update_connection(
    connection_id: ConnectionId,
    body: ConnectionUpdate,
    ctx: WorkspaceCtx,
    session: SessionDep,
    settings: SettingsDep,
) -> ConnectionOut:
    """Rename, pause or resume, change frequency, settings or credentials (admin)."""
    conn = await service.update_connection(session, ctx, settings, connection_id, body)
    return service.to_out(conn)


@router.delete("/{connection_id}", status_code=status.HTTP_204_NO_CONTENT)
async def delete_connection(
    connection_id: ConnectionId, ctx: WorkspaceCtx, session: SessionDep
) -> Response:
    """Remove a connection and its data (admin)."""
    await service.delete_connection(session, ctx, connection_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/{connection_id}/sync", response_model=SyncQueued, status_code=status.HTTP_202_ACCEPTED
)
async def sync_now(
    connection_id: ConnectionId, ctx: WorkspaceCtx, session: SessionDep, queue: QueueDep
) -> SyncQueued:
    """Queue a sync now (admin); 202 with the run id."""
    run = await service.request_sync(session, ctx, connection_id)
    run_id, ws_id = run.id, ctx.workspace_id
    after_commit(
        session,
        lambda: enqueue_quietly(
            queue,
            "sync_connection",
            connection_id=connection_id,
            workspace_id=ws_id,
            run_id=run_id,
        ),
    )
    return SyncQueued(run_id=run_id, status=run.status)


@router.post("/{connection_id}/import", response_model=ImportOut)
async def import_file(
    connection_id: ConnectionId,
    ctx: WorkspaceCtx,
    session: SessionDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="CSV file (see README for columns)")],
) -> ImportOut:
    """Import a CSV of daily ad performance into a CSV connection (admin); all or nothing."""
    ctx.require("admin")
    limit = settings.max_body_bytes
    data = bytearray()
    while chunk := await file.read(READ_CHUNK):
        data.extend(chunk)
        if len(data) > limit:
            raise PayloadTooLarge(f"The file is larger than {limit} bytes.", fields=["file"])
    return await import_csv(session, ctx, connection_id, bytes(data))
