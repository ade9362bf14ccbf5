"""Pixel ingest throughput on PostgreSQL against a real `metricx serve` process.

    .venv/bin/python bench/pixel_ingest.py [--seconds 20] [--senders 16] [--batch 20]

Creates a fresh database, one workspace, starts uvicorn through the CLI, and has several
concurrent httpx senders post batches of pixel events (text/plain, key in the body, like
the browser pixel) for a fixed time. Every 50th batch is sent twice to exercise dedup.
Afterwards it checks that the number of distinct accepted events equals the number of rows
stored, and writes bench/results/pixel-ingest-<date>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx
import orjson

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
PG = "postgresql://postgres@127.0.0.1:5432"
DB = "metricx_bench_pixel"


def log(message: str) -> None:
    print(f"[pixel-bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def fresh_database() -> None:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{DB}"')
    finally:
        await conn.close()


async def make_workspace(url: str) -> tuple[int, str]:
    from metricx.auth.service import create_user
    from metricx.config import Settings
    from metricx.db import Database
    from metricx.workspaces.service import create_workspace

    db = Database(Settings(env="test", database_url=url))
    try:
        async with db.transaction() as s:
            user = await create_user(s, "bench@metricx.local", "bench-password", "Bench")
            ws = await create_workspace(s, user, name="Pixel bench")
            return ws.id, ws.pixel_key
    finally:
        await db.dispose()


async def stored(workspace_id: int) -> int:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/{DB}")
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM pixel_events WHERE workspace_id = $1", workspace_id
            )
        )
    finally:
        await conn.close()


def tree_cpu(root: int) -> float:
    """utime + stime (s) of a process and its descendants, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    total, todo = 0.0, [root]
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    while todo:
        pid = todo.pop()
        todo.extend(children.get(pid, []))
        try:
            fields = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


async def backend_pids() -> list[int]:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres")
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'metricx'",
            DB,
        )
        return [int(r["pid"]) for r in rows]
    finally:
        await conn.close()


def batch(key: str, size: int, sender: int, n: int) -> tuple[bytes, int]:
    now = int(time.time() * 1000)
    events = [
        {
            "event_id": uuid.uuid4().hex,
            "visitor_id": f"v-{sender}-{n % 500}",
            "name": "page_viewed" if i else "product_viewed",
            "ts": now,
            "url": f"https://shop.test/p/{i}?utm_source=facebook&utm_campaign=c{n % 7}",
            # As pixel.js does: UTMs of the current URL are sent as fields too.
            "utm_source": "facebook",
            "utm_campaign": f"c{n % 7}",
            "referrer": "https://l.facebook.com/",
            "data": {"product_id": i},
        }
        for i in range(size)
    ]
    return orjson.dumps({"key": key, "events": events}), size


async def sender(
    base: str, key: str, size: int, idx: int, stop: float, stats: dict[str, int]
) -> None:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        n = 0
        while time.perf_counter() < stop:
            body, count = batch(key, size, idx, n)
            sends = 2 if n % 50 == 0 else 1  # a resent batch must be stored once
            for _ in range(sends):
                r = await client.post(
                    "/api/pixel/events", content=body, headers={"Content-Type": "text/plain"}
                )
                if r.status_code == 200:
                    stats["requests"] += 1
                    stats["stored_reported"] += r.json()["stored"]
                else:
                    stats["errors"] += 1
                    stats[f"status_{r.status_code}"] = stats.get(f"status_{r.status_code}", 0) + 1
            stats["accepted_events"] += count
            n += 1


async def drive(base: str, key: str, seconds: int, senders: int, size: int) -> dict[str, float]:
    stats = {"requests": 0, "errors": 0, "accepted_events": 0, "stored_reported": 0}
    warmup = dict(stats)
    warm = time.perf_counter() + 2
    await asyncio.gather(*(sender(base, key, size, 1000 + i, warm, warmup) for i in range(4)))
    started = time.perf_counter()
    stop = started + seconds
    await asyncio.gather(*(sender(base, key, size, i, stop, stats) for i in range(senders)))
    elapsed = time.perf_counter() - started
    return {**stats, "seconds": round(elapsed, 2), "warmup_events": warmup["accepted_events"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--senders", type=int, default=16)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    url = f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DB}"
    env = {
        **os.environ,
        "METRICX_DATABASE_URL": url,
        "METRICX_ENV": "development",
        "METRICX_SECRET_KEY": "bench-secret-key-0123456789abcdef",
        "METRICX_LOG_LEVEL": "WARNING",
        # The bench measures ingest, not the per-key limit.
        "METRICX_PIXEL_RATE_LIMIT_PER_MINUTE": "100000000",
    }
    env.pop("METRICX_REDIS_URL", None)
    asyncio.run(fresh_database())
    subprocess.run([str(BIN / "metricx"), "db", "upgrade"], check=True, env=env, cwd=ROOT)
    workspace_id, key = asyncio.run(make_workspace(url))
    port = free_port()
    errlog = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [str(BIN / "metricx"), "serve", "--port", str(port), "--workers", str(args.workers)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=errlog,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        else:
            errlog.seek(0)
            sys.exit("server did not start: " + errlog.read().decode()[-2000:])
        log(f"{args.senders} senders x batches of {args.batch} for {args.seconds} s")
        cpu_server, cpu_client = tree_cpu(proc.pid), time.process_time()
        result = asyncio.run(drive(base, key, args.seconds, args.senders, args.batch))
        cpu_server = tree_cpu(proc.pid) - cpu_server
        cpu_client = time.process_time() - cpu_client
        cpu_pg = sum(tree_cpu(pid) for pid in asyncio.run(backend_pids()))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    rows = asyncio.run(stored(workspace_id))
    expected = result["accepted_events"] + result["warmup_events"]
    rate = result["accepted_events"] / result["seconds"]
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpus": os.cpu_count(),
        "workers": args.workers,
        "senders": args.senders,
        "batch": args.batch,
        **result,
        "events_per_second": round(rate),
        "events_sent_total": expected,
        "rows_stored_total": rows,
        "count_in_equals_count_stored": rows == expected,
        # CPU seconds used during the measured run (PostgreSQL: the app's backends, whole
        # life, so slightly over). The machine is shared; these show the cost per event.
        "cpu_s_server": round(cpu_server, 2),
        "cpu_s_postgres": round(cpu_pg, 2),
        "cpu_s_client": round(cpu_client, 2),
        "load_average": os.getloadavg()[0],
    }
    used = cpu_server + cpu_pg
    report["server_plus_pg_cpu_ms_per_1000_events"] = round(used / expected * 1e6, 1)
    report["events_per_server_plus_pg_cpu_second"] = round(expected / used) if used else None
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H%M")
    out = RESULTS / f"pixel-ingest-{stamp}.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    log(json.dumps(report))
    log(f"{rate:,.0f} events/s sustained; in {expected} == stored {rows}: {rows == expected}")
    log(f"written to {out.relative_to(ROOT)}")
    if rows != expected or result["errors"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
