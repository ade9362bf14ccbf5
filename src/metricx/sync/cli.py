"""`metricx sync`, `metricx import csv` and `metricx fx import` from the shell."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

import_app = typer.Typer(help="Import data files.", no_args_is_help=True)
fx_app = typer.Typer(help="Currency exchange rates.", no_args_is_help=True)
console = Console(stderr=True)
out = Console()

FileArg = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, readable=True, help="The file.")
]


def _counters_table(title: str, counters: dict[str, Any]) -> Table:
    table = Table("counter", "value", title=title)
    for key, value in counters.items():
        table.add_row(key, str(value))
    return table


def sync(connection: Annotated[int, typer.Option(help="Connection id.")]) -> None:
    """Run one sync of a connection in the foreground and print its counters."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from metricx.cli import fail, run
    from metricx.config import get_settings
    from metricx.db import Database
    from metricx.http import create_http_client
    from metricx.jobs.context import JobContext
    from metricx.jobs.queue import ArqQueue, InProcessQueue
    from metricx.sync.service import sync_connection

    settings = get_settings()

    async def _go() -> Any:
        database = Database(settings)
        http = create_http_client(settings)
        jc = JobContext(db=database, settings=settings, http=http)
        queue: Any = (
            InProcessQueue(lambda: jc)
            if settings.run_jobs_inline
            else await ArqQueue.connect(settings.redis_url or "")
        )
        jc.queue = queue
        try:
            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                console=console,
            ) as progress:
                task = progress.add_task(f"connection {connection}: starting", total=None)

                def on(event: str, data: dict[str, Any]) -> None:
                    if event == "account":
                        progress.update(task, description=f"{data['name']} ({data['currency']})")
                    elif event == "facts_start":
                        progress.update(task, total=data["chunks"], completed=0)
                    elif event == "chunk":
                        done = data["counters"]
                        rows = done.get("facts_written", 0) + done.get("orders_written", 0)
                        progress.update(
                            task,
                            completed=data["index"],
                            description=f"through {data['end']} · {rows} rows",
                        )

                outcome = await sync_connection(jc, connection, progress=on)
            if isinstance(queue, InProcessQueue):
                await queue.join()  # attribution and insights follow-ups
            return outcome
        finally:
            await queue.close()
            await http.aclose()
            await database.dispose()

    outcome = run(_go)
    out.print(
        _counters_table(f"sync of connection {connection}: {outcome.status}", outcome.counters)
    )
    out.print(f"rows written: {outcome.rows_written}")
    if outcome.status != "succeeded":
        fail(outcome.error or outcome.status)


@import_app.command("csv")
def import_csv_command(
    file: FileArg,
    connection: Annotated[int, typer.Option(help="CSV connection id.")],
) -> None:
    """Import a CSV of daily ad performance; nothing is written if any row is invalid."""
    from metricx.cli import fail, run
    from metricx.config import get_settings
    from metricx.connections.service import system_context, workspace_of_connection
    from metricx.connectors.csv import CsvInvalid
    from metricx.db import Database
    from metricx.errors import MetricxError
    from metricx.sync.imports import import_csv

    settings = get_settings()

    async def _go() -> Any:
        data = await asyncio.to_thread(file.read_bytes)
        database = Database(settings)
        try:
            async with database.transaction() as session:
                ctx = await system_context(
                    session, await workspace_of_connection(session, connection)
                )
                return await import_csv(session, ctx, connection, data)
        finally:
            await database.dispose()

    try:
        result = run(_go)
    except CsvInvalid as exc:
        table = Table("line", "column", "problem", title="nothing was imported")
        for e in exc.errors:
            table.add_row(str(e["line"]), str(e["column"]), str(e["message"]))
        out.print(table)
        fail(exc.detail)
        return
    except MetricxError as exc:
        fail(exc.detail)
        return
    out.print(_counters_table(f"imported {file.name}", result.model_dump()))


@fx_app.command("import")
def fx_import(file: FileArg) -> None:
    """Import exchange rates from a CSV with columns date,base,quote,rate (idempotent)."""
    from metricx.cli import fail, run
    from metricx.config import get_settings
    from metricx.db import Database
    from metricx.errors import MetricxError
    from metricx.sync.fx import parse_rates_csv, upsert_rates

    settings = get_settings()

    async def _go() -> int:
        text = await asyncio.to_thread(file.read_text, "utf-8-sig")
        rows = await asyncio.to_thread(parse_rates_csv, text)
        database = Database(settings)
        try:
            async with database.transaction() as session:
                return await upsert_rates(session, rows)
        finally:
            await database.dispose()

    try:
        count = run(_go)
    except MetricxError as exc:
        fail(exc.detail)
        return
    except UnicodeDecodeError:
        fail("the rates file is not UTF-8 text")
        return
    console.print(f"imported {count} exchange rate(s)")


def register(app: typer.Typer) -> None:
    """Add `sync`, `import` and `fx` to the main CLI."""
    app.command("sync")(sync)
    app.add_typer(import_app, name="import")
    app.add_typer(fx_app, name="fx")
