"""`make bench`: load 10 million facts (reused when present), start the API, drive it with wrk.

Writes bench/results/<date>-<commit>.json and prints a markdown table. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
LUA = ROOT / "bench" / "wrk_report.lua"
PG = "postgresql+asyncpg://postgres@127.0.0.1:5432"
DEMO_EMAIL, DEMO_PASSWORD = "demo@metricx.local", "demo"


@dataclass
class Bench:
    """Collected measurements of one bench run."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)
    peak_rss_mb: float = 0.0

    def add(self, name: str, result: dict[str, Any], **info: Any) -> None:
        row = {"scenario": name, **info, **result}
        self.rows.append(row)
        print(
            f"  {name:<58} p50 {result.get('p50', 0):7.2f} ms  p99 {result.get('p99', 0):7.2f}"
            f" ms  {result.get('rps', 0):9.1f} req/s",
            flush=True,
        )


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def metricx(*args: str, env: dict[str, str]) -> None:
    subprocess.run([str(BIN / "metricx"), *args], check=True, env=env, cwd=ROOT)


async def scalar(url: str, sql: str) -> Any:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def fetch(url: str, sql: str) -> list[Any]:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        return list(await conn.fetch(sql))
    finally:
        await conn.close()


def ensure_dataset(args: argparse.Namespace, env: dict[str, str]) -> int:
    """Create and load the bench database unless it already holds the target."""
    db_url = env["METRICX_DATABASE_URL"]
    exists = asyncio.run(
        scalar(f"{PG}/postgres", f"SELECT 1 FROM pg_database WHERE datname = '{args.db}'")
    )
    if not exists:
        asyncio.run(_create_db(args.db))
    metricx("db", "upgrade", env=env)
    facts = asyncio.run(scalar(db_url, "SELECT count(*) FROM metric_facts")) or 0
    if facts >= args.facts * 0.98:
        log(f"reusing {args.db}: {facts:,} facts")
        # A reused dataset may predate the summaries or have rolled over a day.
        metricx("db", "refresh-summaries", env=env)
        return int(facts)
    log(
        f"loading {args.db}: {args.workspaces} workspaces x {args.days} days (target "
        f"{args.facts:,} facts)"
    )
    started = time.perf_counter()
    metricx("demo", *args.demo_args.split(), env=env)
    facts = asyncio.run(scalar(db_url, "SELECT count(*) FROM metric_facts"))
    log(f"loaded {facts:,} facts in {time.perf_counter() - started:.0f} s")
    asyncio.run(_analyze(db_url))
    return int(facts)


async def _create_db(name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect("postgresql://postgres@127.0.0.1:5432/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


async def _analyze(url: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def pick_workspaces(db_url: str) -> tuple[int, int, dict[str, Any]]:
    """The largest workspace by facts and the median one."""
    rows = asyncio.run(
        fetch(
            db_url,
            (
                "SELECT workspace_id, sum(fact_rows) AS facts FROM daily_rollups "
                "GROUP BY workspace_id ORDER BY facts DESC"
            ),
        )
    )
    largest = rows[0]
    median = rows[len(rows) // 2]
    ads = asyncio.run(
        scalar(
            db_url,
            (
                f"SELECT count(*) FROM entities WHERE workspace_id = {largest['workspace_id']} "
                "AND level = 'ad'"
            ),
        )
    )
    info = {
        "workspaces": len(rows),
        "largest_facts": int(largest["facts"]),
        "largest_ads": int(ads),
        "median_facts": int(median["facts"]),
    }
    return int(largest["workspace_id"]), int(median["workspace_id"]), info


def rss_of_tree(root_pid: int) -> float:
    """Peak resident memory (VmHWM, MB) of the largest process in the server's tree."""
    peak = 0.0
    pids = [root_pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == root_pid:
                pids.append(int(entry.name))
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]) / 1024)
        except OSError:
            continue
    return peak


@contextmanager
def server(env: dict[str, str], workers: int, bench: Bench, **overrides: str):
    """Run `metricx serve` with the given settings until the block ends."""
    port = free_port()
    proc_env = {**env, **overrides}
    proc = subprocess.Popen(
        [
            str(BIN / "metricx"),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=proc_env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        raise RuntimeError("server did not become ready: " + proc.stderr.read().decode()[-2000:])
    try:
        yield base
    finally:
        bench.peak_rss_mb = max(bench.peak_rss_mb, rss_of_tree(proc.pid))
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def login(base: str) -> str:
    response = httpx.post(
        f"{base}/api/auth/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD}, timeout=10
    )
    response.raise_for_status()
    return str(response.json()["access_token"])


def wrk(url: str, token: str, connections: int, duration: int) -> dict[str, Any]:
    """Run wrk and return its JSON summary (latencies in ms)."""
    threads = max(1, min(2, connections))
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(threads),
            "-c",
            str(connections),
            "-d",
            f"{duration}s",
            "--timeout",
            "10s",
            "-s",
            str(LUA),
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.splitlines():
        if line.startswith("WRKJSON "):
            return dict(json.loads(line[8:]))
    raise RuntimeError(f"no wrk summary in: {out}")


def old_style_calls(ws: int, tf: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    """The nine widget calls the old page made one after another (one per widget)."""
    p = f"/api/workspaces/{ws}"
    return [
        ("GET", "/api/auth/me", None),
        ("GET", f"{p}/status", None),
        ("GET", f"{p}/dashboard/kpis?timeframe={tf}", None),
        # The revenue-vs-spend chart: both series with the previous period.
        ("POST", f"{p}/kpis", {"metrics": ["spend", "revenue"], "timeframe": tf}),
        # The spend mix, one platform at a time as the old widget did (here just Meta).
        (
            "POST",
            f"{p}/kpis",
            {"metrics": ["spend"], "timeframe": tf, "filters": {"provider": ["meta"]}},
        ),
        ("GET", f"{p}/entities?level=ad&timeframe={tf}&sort=spend&page_size=6", None),
        ("GET", f"{p}/entities?level=campaign&timeframe={tf}&sort=spend&page_size=20", None),
        ("GET", f"{p}/attribution/summary?timeframe={tf}", None),
        ("GET", f"{p}/attribution/feed", None),
    ]


async def old_vs_unified(base: str, token: str, ws: int, rounds: int) -> dict[str, Any]:
    """Median wall time of the sequential widget calls vs the one unified request."""
    headers = {"Authorization": f"Bearer {token}"}
    old, new, statuses = [], [], set()
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as client:
        for i in range(rounds):
            tf = ("last_7_days", "last_30_days")[i % 2]
            t0 = time.perf_counter()
            for method, path, body in old_style_calls(ws, tf):
                r = await client.request(method, path, json=body)
                statuses.add(r.status_code)
                if r.status_code != 200:
                    raise RuntimeError(f"old-style call {method} {path}: {r.status_code} {r.text}")
            old.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            r = await client.get(f"/api/workspaces/{ws}/dashboard?timeframe={tf}")
            statuses.add(r.status_code)
            new.append((time.perf_counter() - t0) * 1000)
    old_ms, new_ms = statistics.median(old), statistics.median(new)
    return {
        "old_style_median_ms": round(old_ms, 2),
        "unified_median_ms": round(new_ms, 2),
        "speedup": round(old_ms / new_ms, 2),
        "statuses": sorted(statuses),
    }


async def slow_load(base: str, token: str, ws: int, stop: asyncio.Event, n: int = 10) -> int:
    """Keep n two-year custom-range dashboards in flight until `stop` is set."""
    headers = {"Authorization": f"Bearer {token}"}
    done = 0
    today = dt.date.today()

    async def one(k: int) -> None:
        nonlocal done
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as client:
            i = 0
            while not stop.is_set():
                end = today - dt.timedelta(days=1 + (k * 7 + i) % 30)
                start = end - dt.timedelta(days=729)
                await client.get(f"/api/workspaces/{ws}/dashboard?start={start}&end={end}")
                done += 1
                i += 1

    tasks = [asyncio.create_task(one(k)) for k in range(n)]
    await stop.wait()
    await asyncio.gather(*tasks, return_exceptions=True)
    return done


def event_loop_test(base: str, token: str, ws: int, duration: int) -> dict[str, Any]:
    """p99 of /api/auth/me alone, then while ten slow dashboards run."""
    idle = wrk(f"{base}/api/auth/me", token, 10, duration)

    async def loaded() -> tuple[dict[str, Any], int]:
        stop = asyncio.Event()
        load = asyncio.create_task(slow_load(base, token, ws, stop))
        await asyncio.sleep(1.0)
        result = await asyncio.to_thread(wrk, f"{base}/api/auth/me", token, 10, duration)
        stop.set()
        return result, await load

    busy, slow_done = asyncio.run(loaded())
    return {
        "idle": idle,
        "busy": busy,
        "slow_requests_completed": slow_done,
        "ratio_p99": round(busy["p99"] / max(idle["p99"], 1e-6), 2),
    }


def git_commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="metricx_bench")
    parser.add_argument("--facts", type=int, default=10_000_000)
    parser.add_argument("--workspaces", type=int, default=200)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--demo-args", default="--workspaces 200 --days 400 --bench-scale")
    parser.add_argument("--duration", type=int, default=8, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=40, help="old-vs-unified rounds")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: `apt-get install wrk` (make bench does this)")

    env = {
        **os.environ,
        "METRICX_DATABASE_URL": f"{PG}/{args.db}",
        "METRICX_ENV": "development",
        "METRICX_LOG_LEVEL": "WARNING",
        "METRICX_DB_POOL_SIZE": "30",
    }
    env.pop("METRICX_REDIS_URL", None)
    bench = Bench()
    facts = ensure_dataset(args, env)
    largest, median, info = pick_workspaces(env["METRICX_DATABASE_URL"])
    bench.extra.update(info, facts=facts)
    log(
        f"largest workspace {largest} ({info['largest_facts']:,} facts, {info['largest_ads']} "
        f"ads), median {median} ({info['median_facts']:,} facts)"
    )
    d = args.duration
    cold = {"METRICX_CACHE_ENABLED": "false"}

    log("cold (cache off), one worker")
    with server(env, 1, bench, **cold) as base:
        token = login(base)
        for label, ws in (("largest", largest), ("median", median)):
            for tf in ("last_7_days", "last_30_days"):
                url = f"{base}/api/workspaces/{ws}/dashboard?timeframe={tf}"
                for c in (1, 10):
                    bench.add(
                        f"cold dashboard {label} {tf} c={c}",
                        wrk(url, token, c, d),
                        workers=1,
                        concurrency=c,
                    )
        end = dt.date.today() - dt.timedelta(days=1)
        start = end - dt.timedelta(days=29)
        url = f"{base}/api/workspaces/{largest}/dashboard?start={start}&end={end}"
        bench.add(
            "cold dashboard largest custom 30 days c=1",
            wrk(url, token, 1, d),
            workers=1,
            concurrency=1,
        )
        bench.extra["old_vs_unified"] = asyncio.run(
            old_vs_unified(base, token, median, args.rounds)
        )
        log(f"old-style vs unified: {bench.extra['old_vs_unified']}")
        bench.extra["event_loop"] = event_loop_test(base, token, largest, d)
        log(f"event loop: {bench.extra['event_loop']['ratio_p99']}x idle p99")

    log("throughput, two workers")
    with server(env, 2, bench, **cold) as base:
        token = login(base)
        url = f"{base}/api/workspaces/{median}/dashboard?timeframe=last_7_days"
        for c in (1, 10, 50):
            bench.add(
                f"uncached dashboard median last_7_days c={c}",
                wrk(url, token, c, d),
                workers=2,
                concurrency=c,
            )
    with server(env, 2, bench) as base:
        token = login(base)
        url = f"{base}/api/workspaces/{median}/dashboard?timeframe=last_7_days"
        wrk(url, token, 10, 2)  # warm both workers' caches
        for c in (1, 10, 50):
            bench.add(
                f"cached (memory) dashboard c={c}", wrk(url, token, c, d), workers=2, concurrency=c
            )
    with server(env, 2, bench, METRICX_REDIS_URL="redis://127.0.0.1:6379/3") as base:
        token = login(base)
        url = f"{base}/api/workspaces/{median}/dashboard?timeframe=last_7_days"
        wrk(url, token, 10, 2)
        for c in (1, 10, 50):
            bench.add(
                f"cached (redis) dashboard c={c}", wrk(url, token, c, d), workers=2, concurrency=c
            )

    report(bench)


def report(bench: Bench) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    name = f"{dt.date.today().isoformat()}-{git_commit()}.json"
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(),
        "commit": git_commit(),
        "peak_rss_mb": round(bench.peak_rss_mb, 1),
        "rows": bench.rows,
        **bench.extra,
    }
    (RESULTS / name).write_text(json.dumps(payload, indent=2))
    print("\n| scenario | workers | c | p50 ms | p95 ms | p99 ms | req/s | errors |")
    print("|---|---|---|---|---|---|---|---|")
    for r in bench.rows:
        print(
            f"| {r['scenario']} | {r.get('workers', '')} | {r.get('concurrency', '')} | "
            f"{r['p50']:.2f} | {r['p95']:.2f} | {r['p99']:.2f} | {r['rps']:.0f} | "
            f"{r['errors']} |"
        )
    ou = bench.extra.get("old_vs_unified", {})
    ev = bench.extra.get("event_loop", {})
    print(
        f"\nold-style page (9 sequential calls) median {ou.get('old_style_median_ms')} ms vs "
        f"unified {ou.get('unified_median_ms')} ms: {ou.get('speedup')}x"
    )
    if ev:
        print(
            f"/api/auth/me p99 idle {ev['idle']['p99']:.2f} ms, with 10 slow dashboards "
            f"{ev['busy']['p99']:.2f} ms ({ev['ratio_p99']}x)"
        )
    print(f"peak RSS of an API process: {bench.peak_rss_mb:.0f} MB")
    print(f"results: bench/results/{name}")


if __name__ == "__main__":
    main()
