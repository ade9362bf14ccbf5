"""`metricx demo`: load the deterministic demo dataset, with a progress bar and a summary."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from metricx.config import get_settings
from metricx.db import Database
from metricx.demo.loader import (
    BENCH_ORDER_DAYS,
    BENCH_TOTAL_ADS,
    DEMO_EMAIL,
    DEMO_PASSWORD,
    DemoOptions,
    DemoResult,
    any_workspace,
    build_plans,
    load_demo,
    planned_fact_rows,
)
from metricx.demo.names import DROP_CAMPAIGN_NAME, STAR_CAMPAIGN_NAME


def demo(
    workspaces: Annotated[int, typer.Option(min=1, max=5000, help="Demo workspaces.")] = 1,
    campaigns: Annotated[
        int | None,
        typer.Option(min=1, max=500, help="Campaigns per platform per workspace [auto: ads/18]."),
    ] = None,
    ads: Annotated[
        int, typer.Option(min=1, help="Ads per workspace (the average when several).")
    ] = 200,
    total_ads: Annotated[
        int | None, typer.Option(min=1, help="Ads over all workspaces, skewed by size.")
    ] = None,
    days: Annotated[int, typer.Option(min=14, max=3000, help="Days of history.")] = 120,
    order_days: Annotated[
        int | None, typer.Option(min=1, help="Days with Shopify orders [all days].")
    ] = None,
    seed: Annotated[int, typer.Option(help="Random seed: same seed, same rows.")] = 42,
    end_date: Annotated[
        datetime | None,
        typer.Option(formats=["%Y-%m-%d"], help="Last day [yesterday, workspace time]."),
    ] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when any workspace exists.")
    ] = False,
    bench_scale: Annotated[
        bool,
        typer.Option(
            "--bench-scale",
            help=f"Benchmark preset: --total-ads {BENCH_TOTAL_ADS} --order-days "
            f"{BENCH_ORDER_DAYS} (with --workspaces 200 --days 400: >= 10M facts).",
        ),
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be written, write nothing.")
    ] = False,
    attribute: Annotated[
        bool | None,
        typer.Option(
            "--attribute/--no-attribute",
            help="Attribute the orders to the ads [on; off with --bench-scale].",
        ),
    ] = None,
) -> None:
    """Load the deterministic demo dataset (idempotent: rerunning rewrites the same rows)."""
    options = DemoOptions(
        workspaces=workspaces,
        campaigns=campaigns,
        ads=ads,
        total_ads=total_ads or (BENCH_TOTAL_ADS if bench_scale else None),
        days=days,
        order_days=order_days or (BENCH_ORDER_DAYS if bench_scale else None),
        seed=seed,
        end_date=end_date.date() if end_date else None,
        attribute=(not bench_scale) if attribute is None else attribute,
    )
    console = Console()
    if dry_run:
        _print_plan(console, options)
        return
    # Bulk statements are slow by design; only report ones that are pathological.
    settings = get_settings().model_copy(update={"slow_query_ms": 30_000})

    async def _go() -> DemoResult | None:
        database = Database(settings)
        try:
            if if_empty and await any_workspace(database):
                return None
            return await _load_with_progress(database, options, console)
        finally:
            await database.dispose()

    result = asyncio.run(_go())
    if result is None:
        console.print("demo: the database already has workspaces; nothing to do")
        return
    rate = result.rows / result.seconds if result.seconds else 0.0
    console.print(
        f"wrote {result.workspaces} workspaces: {result.facts:,} facts, {result.entities:,} "
        f"entities, {result.orders:,} orders ({result.rows:,} rows) in {result.seconds:.1f} s "
        f"= {rate:,.0f} rows/s ({result.facts / max(result.seconds, 1e-9):,.0f} facts/s)"
    )
    console.print(
        f"ROAS drops in [bold]{DROP_CAMPAIGN_NAME}[/bold] and jumps in "
        f"[bold]{STAR_CAMPAIGN_NAME}[/bold] over the last 7 days"
    )
    console.print(
        # `make run` and `metricx serve` say where they listen; the demo doesn't know.
        f"sign in as [bold]{DEMO_EMAIL}[/bold] / [bold]{DEMO_PASSWORD}[/bold]"
    )


async def _load_with_progress(
    database: Database, options: DemoOptions, console: Console
) -> DemoResult:
    planned = planned_fact_rows(options)
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("facts"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task = bar.add_task("demo", total=planned)
        done = {"workspaces": 0}

        def on_plan(_rows: int) -> None:
            done["workspaces"] += 1
            bar.update(task, description=f"workspace {done['workspaces']}/{options.workspaces}")

        result = await load_demo(
            database,
            options,
            on_plan=on_plan,
            progress=lambda n: bar.advance(task, n),
        )
    return result


def _print_plan(console: Console, options: DemoOptions) -> None:
    facts = ads = largest = 0
    for plan in build_plans(options):
        facts += plan.fact_rows
        ads += plan.ads
        largest = max(largest, plan.ads)
    end = options.end_date or "yesterday (workspace time)"
    console.print(
        f"{options.workspaces} workspaces, {ads:,} ads (largest {largest:,}), "
        f"{facts:,} facts over {options.days} days ending {end}"
    )
