"""`make soak`: a long mixed-traffic run against `metricx serve --workers 2` and one worker.

Creates (or reuses) its own PostgreSQL database (`metricx_soak`) loaded with `metricx demo`,
starts two API processes and one arq worker on a Redis database of its own, then drives a
weighted mix of dashboard, entity, question, pixel and Shopify-webhook traffic at a fixed
concurrency for `--minutes`. Records per-minute counts, 5xx, p50/p99 (overall and per
kind) and the RSS of every process; at the end checks that every accepted pixel event and
webhook order is in the database. Writes bench/results/soak-<date>-<commit>.json and prints
a markdown table with PASS/FAIL criteria. See bench/README.md.

Loopback only: provider and LLM URLs point at a closed local port, so nothing leaves the
machine even if a job tried to call out.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

# `python bench/soak.py` puts bench/ first on the path: share the bench's helpers.
from run import free_port, git_commit

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
RESULTS = ROOT / "bench" / "results"
PG = "postgresql://postgres@127.0.0.1:5432"
DEMO_EMAIL, DEMO_PASSWORD = "demo@metricx.local", "demo"
PROTECTED_DATABASES = {"metricx_bench", "postgres", "template0", "template1"}
WEBHOOK_SECRET = "shpss_soak_webhook_secret"
DEAD_URL = "http://127.0.0.1:9"  # discard port: connection refused, never leaves the host

TIMEFRAMES = ("last_7_days", "last_30_days", "yesterday", "this_month", "last_90_days")
QUESTIONS = (
    "how much did we spend in the last 7 days",
    "ROAS by platform",
    "spend by campaign",
    "which campaigns had the best roas last month",
    "revenue yesterday",
    "what was our cpa last 30 days",
)
# kind -> weight (share of requests)
MIX = {"dashboard": 30, "entities": 25, "questions": 10, "pixel": 20, "webhook": 15}


def log(message: str) -> None:
    print(f"[soak {time.strftime('%H:%M:%S')}] {message}", flush=True)


# -- database -------------------------------------------------------------------------


async def pg(db: str, sql: str, *args: Any, many: bool = False) -> Any:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/{db}", timeout=10)
    try:
        return await (conn.fetch(sql, *args) if many else conn.fetchval(sql, *args))
    finally:
        await conn.close()


async def _create_database(name: str) -> bool:
    import asyncpg

    conn = await asyncpg.connect(f"{PG}/postgres", timeout=10)
    try:
        if await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            return False
        await conn.execute(f'CREATE DATABASE "{name}"')
        return True
    finally:
        await conn.close()


def ensure_dataset(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Create the soak database and load the demo data unless it is already there."""
    created = asyncio.run(_create_database(args.db))
    subprocess.run([str(BIN / "metricx"), "db", "upgrade"], check=True, env=env, cwd=ROOT)
    have = 0 if created else asyncio.run(pg(args.db, "SELECT count(*) FROM workspaces"))
    if have >= args.workspaces:
        log(f"reusing {args.db}: {have} workspaces")
    else:
        log(f"loading {args.db}: {args.workspaces} workspaces x {args.ads} ads x {args.days} days")
        started = time.perf_counter()
        subprocess.run(
            [
                str(BIN / "metricx"),
                "demo",
                "--workspaces",
                str(args.workspaces),
                "--ads",
                str(args.ads),
                "--days",
                str(args.days),
            ],
            check=True,
            env=env,
            cwd=ROOT,
        )
        log(f"loaded in {time.perf_counter() - started:.0f} s")
    # After a load, and after earlier soaks' dead rows (attributions are rewritten).
    asyncio.run(pg(args.db, "VACUUM ANALYZE"))
    facts = asyncio.run(pg(args.db, "SELECT count(*) FROM metric_facts"))
    return {"facts": int(facts), "workspaces": int(max(have, args.workspaces))}


@dataclass
class Target:
    """What the driver needs to know about one workspace."""

    id: int
    pixel_key: str
    currency: str
    shop_domain: str
    shop_connection_id: int
    campaigns: list[int]
    adsets: list[int]


async def load_targets(db: str, limit: int) -> list[Target]:
    rows = await pg(
        db,
        """
        SELECT w.id, w.pixel_key, w.currency, c.shop_domain, c.id AS shop_id
        FROM workspaces w JOIN connections c
          ON c.workspace_id = w.id AND c.provider = 'shopify' AND c.shop_domain IS NOT NULL
        ORDER BY w.id LIMIT $1
        """,
        limit,
        many=True,
    )
    targets = []
    for r in rows:
        ents = await pg(
            db,
            """
            SELECT e.id, e.level FROM entities e
            WHERE e.workspace_id = $1 AND e.level IN ('campaign', 'adset')
              AND EXISTS (SELECT 1 FROM entities c WHERE c.parent_id = e.id)
            ORDER BY e.id LIMIT 400
            """,
            r["id"],
            many=True,
        )
        targets.append(
            Target(
                id=r["id"],
                pixel_key=r["pixel_key"],
                currency=r["currency"],
                shop_domain=r["shop_domain"],
                shop_connection_id=r["shop_id"],
                campaigns=[e["id"] for e in ents if e["level"] == "campaign"][:40],
                adsets=[e["id"] for e in ents if e["level"] == "adset"][:80],
            )
        )
    return targets


# -- processes ------------------------------------------------------------------------


def children_of(pid: int) -> list[int]:
    kids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(entry.name))
    return sorted(kids)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


class Processes:
    """The serve supervisor, its API worker processes and the arq worker."""

    def __init__(self, serve: subprocess.Popen[bytes], worker: subprocess.Popen[bytes]):
        self.serve, self.worker = serve, worker
        self.api_pids: list[int] = []

    def discover(self) -> None:
        # uvicorn's workers are spawned children; skip multiprocessing's resource tracker.
        self.api_pids = [
            p for p in children_of(self.serve.pid) if "resource_tracker" not in cmdline(p)
        ]

    def sample(self) -> dict[str, float | None]:
        out: dict[str, float | None] = {}
        current = [p for p in children_of(self.serve.pid) if "resource_tracker" not in cmdline(p)]
        for i, pid in enumerate(self.api_pids):
            out[f"api{i + 1}"] = rss_mb(pid) if pid in current else None
        out["worker"] = rss_mb(self.worker.pid)
        out["supervisor"] = rss_mb(self.serve.pid)
        return out

    def replaced(self) -> list[int]:
        current = [p for p in children_of(self.serve.pid) if "resource_tracker" not in cmdline(p)]
        return [p for p in current if p not in self.api_pids]


def start(argv: list[str], env: dict[str, str], logfile: Path) -> subprocess.Popen[bytes]:
    handle = logfile.open("wb")
    return subprocess.Popen(argv, env=env, cwd=ROOT, stdout=handle, stderr=subprocess.STDOUT)


def wait_ready(base: str, proc: subprocess.Popen[bytes], logfile: Path) -> None:
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError("server did not become ready:\n" + logfile.read_text()[-3000:])


def stop(proc: subprocess.Popen[bytes], timeout: float = 40) -> dict[str, Any]:
    """SIGTERM, wait, and report how long the graceful shutdown took."""
    if proc.poll() is not None:
        return {"exit": proc.returncode, "seconds": 0.0, "already_dead": True}
    started = time.perf_counter()
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
        return {"exit": code, "seconds": round(time.perf_counter() - started, 2), "killed": True}
    return {"exit": code, "seconds": round(time.perf_counter() - started, 2)}


# -- traffic --------------------------------------------------------------------------


@dataclass
class Sample:
    minute: int
    kind: str
    ms: float
    status: int  # 0: transport error or timeout


@dataclass
class Ledger:
    """Everything the driver sent that the server accepted, for the final check."""

    pixel_ids: dict[int, set[str]] = field(default_factory=dict)  # workspace -> event ids
    orders: dict[int, set[str]] = field(default_factory=dict)  # shop connection -> order ids
    sent_pixel_events: int = 0
    sent_orders: int = 0
    webhook_status: dict[str, int] = field(default_factory=dict)


def sign(body: bytes) -> str:
    return base64.b64encode(
        hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).digest()
    ).decode()


def order_payload(order_id: int, currency: str, rng: random.Random) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    qty, price = rng.randint(1, 3), rng.choice(("19.00", "45.50", "89.99", "120.00"))
    total = f"{float(price) * qty + 5:.2f}"
    campaign = rng.choice(("prospecting", "retargeting", "brand"))
    return {
        "id": order_id,
        "order_number": order_id % 1_000_000,
        "name": f"#S{order_id}",
        "email": f"buyer{order_id % 5000}@example.com",
        "created_at": now,
        "updated_at": now,
        "currency": currency,
        "total_price": total,
        "subtotal_price": total,
        "total_tax": "0.00",
        "total_discounts": "0.00",
        "total_shipping_price_set": {"shop_money": {"amount": "5.00", "currency_code": currency}},
        "financial_status": "paid",
        "cancelled_at": None,
        "test": False,
        "landing_site": f"/?utm_source=facebook&utm_medium=paid&utm_campaign={campaign}",
        "referring_site": "https://l.facebook.com/",
        "source_name": "web",
        "checkout_token": f"soak-{order_id}",
        "note_attributes": [{"name": "mx_vid", "value": f"soak-v-{order_id % 2000}"}],
        "line_items": [
            {"id": 1, "title": "Soak shirt", "quantity": qty, "price": price, "product_id": 9}
        ],
        "refunds": [],
    }


class Driver:
    def __init__(
        self,
        base: str,
        token: str,
        targets: list[Target],
        args: argparse.Namespace,
        procs: Processes,
    ) -> None:
        self.base, self.token, self.targets, self.args, self.procs = (
            base,
            token,
            targets,
            args,
            procs,
        )
        self.samples: list[Sample] = []
        self.errors: dict[str, int] = {}  # transport errors by exception name
        self.ledger = Ledger()
        self.rss: list[dict[str, Any]] = []
        self.t0 = 0.0
        # Order ids unique to this run (13+ digits, like Shopify's): new ones, then repeats.
        self.order_base = int(time.time()) * 100_000
        self.order_seq = 0
        self.sent_orders: list[tuple[Target, int]] = []
        self.kinds = list(MIX)
        self.weights = [MIX[k] for k in self.kinds]

    # each request returns (kind, status)
    async def dashboard(self, c: httpx.AsyncClient, rng: random.Random) -> int:
        t = rng.choice(self.targets[: max(1, len(self.targets) // 2)])  # hot half: cache hits
        tf = rng.choice(TIMEFRAMES)
        r = await c.get(f"/api/workspaces/{t.id}/dashboard", params={"timeframe": tf})
        return r.status_code

    async def entities(self, c: httpx.AsyncClient, rng: random.Random) -> int:
        t = rng.choice(self.targets)
        tf = rng.choice(TIMEFRAMES)
        roll = rng.random()
        params: dict[str, Any] = {"timeframe": tf, "page_size": rng.choice((20, 50))}
        if roll < 0.4 or not t.campaigns:
            params.update(level="campaign", sort=rng.choice(("spend", "roas", "revenue")))
        elif roll < 0.7:
            params.update(level="adset", parent_id=rng.choice(t.campaigns))
        elif roll < 0.9 and t.adsets:
            params.update(level="ad", parent_id=rng.choice(t.adsets), sort="spend")
        else:
            params.update(level="ad", sort="spend", page=rng.randint(1, 3))
        r = await c.get(f"/api/workspaces/{t.id}/entities", params=params)
        return r.status_code

    async def questions(self, c: httpx.AsyncClient, rng: random.Random) -> int:
        t = rng.choice(self.targets)
        r = await c.post(
            f"/api/workspaces/{t.id}/questions", json={"question": rng.choice(QUESTIONS)}
        )
        return r.status_code

    async def pixel(self, c: httpx.AsyncClient, rng: random.Random) -> int:
        t = rng.choice(self.targets)
        now = int(time.time() * 1000)
        visitor = f"soak-v-{rng.randint(0, 1999)}"
        events = [
            {
                "event_id": uuid.uuid4().hex,
                "visitor_id": visitor,
                "name": rng.choice(("page_viewed", "product_viewed", "product_added_to_cart")),
                "ts": now,
                "url": f"https://shop.test/p/{i}?utm_source=facebook&utm_campaign=prospecting",
                "utm_source": "facebook",
                "utm_campaign": "prospecting",
                "referrer": "https://l.facebook.com/",
                "data": {"product_id": i},
            }
            for i in range(rng.choice((1, 1, 5, 10, 20)))
        ]
        body = orjson.dumps({"key": t.pixel_key, "events": events})
        headers = {"Content-Type": "text/plain"}
        sends = 2 if rng.random() < 0.05 else 1  # a resent batch must be stored once
        status = 0
        for _ in range(sends):
            r = await c.post("/api/pixel/events", content=body, headers=headers)
            status = r.status_code
            self.ledger.sent_pixel_events += len(events)
            if 200 <= status < 300:
                self.ledger.pixel_ids.setdefault(t.id, set()).update(e["event_id"] for e in events)
            if status >= 300:
                break
        return status

    async def webhook(self, c: httpx.AsyncClient, rng: random.Random) -> int:
        repeat = self.sent_orders and rng.random() < 0.25
        if repeat:
            t, order_id = rng.choice(self.sent_orders)
            topic = rng.choice(("orders/updated", "orders/create"))  # redelivery or update
        else:
            t = rng.choice(self.targets)
            self.order_seq += 1
            order_id = self.order_base + self.order_seq
            topic = "orders/create"
        body = orjson.dumps(order_payload(order_id, t.currency, rng))
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": topic,
            "X-Shopify-Shop-Domain": t.shop_domain,
            "X-Shopify-Hmac-SHA256": sign(body),
            "X-Shopify-Webhook-Id": uuid.uuid4().hex,
        }
        r = await c.post(
            f"/api/webhooks/shopify/{topic.replace('/', '-')}", content=body, headers=headers
        )
        self.ledger.sent_orders += 1
        if 200 <= r.status_code < 300:
            status = str(r.json().get("status"))
            self.ledger.webhook_status[status] = self.ledger.webhook_status.get(status, 0) + 1
            self.ledger.orders.setdefault(t.shop_connection_id, set()).add(str(order_id))
            if not repeat:
                self.sent_orders.append((t, order_id))
        return r.status_code

    async def user(self, idx: int, client: httpx.AsyncClient, deadline: float) -> None:
        rng = random.Random(self.args.seed * 1000 + idx)
        handlers = {k: getattr(self, k) for k in self.kinds}
        for _ in range(self.args.max_requests_per_user):  # bounded in count and in time
            now = time.perf_counter()
            if now >= deadline:
                return
            kind = rng.choices(self.kinds, self.weights)[0]
            started = time.perf_counter()
            try:
                status = await handlers[kind](client, rng)
            except (httpx.HTTPError, ValueError) as exc:
                status = 0
                name = type(exc).__name__
                self.errors[name] = self.errors.get(name, 0) + 1
            ms = (time.perf_counter() - started) * 1000
            self.samples.append(Sample(int((started - self.t0) // 60), kind, ms, status))

    async def sampler(self, deadline: float) -> None:
        minute = 0
        while True:
            self.rss.append({"minute": minute, **self.procs.sample()})
            self.print_minute(minute - 1)
            minute += 1
            wake = self.t0 + minute * 60
            if wake > deadline + 0.5:
                return
            await asyncio.sleep(max(0.0, wake - time.perf_counter()))

    def print_minute(self, minute: int) -> None:
        if minute < 0:
            return
        rows = [s for s in self.samples if s.minute == minute]
        if not rows:
            return
        ms = sorted(s.ms for s in rows)
        bad = sum(1 for s in rows if s.status >= 500 or s.status == 0)
        log(
            f"minute {minute + 1}: {len(rows)} requests, {bad} 5xx/errors, p50 "
            f"{pct(ms, 50):.1f} ms, p99 {pct(ms, 99):.1f} ms, rss {self.rss[-1]}"
        )

    async def run(self) -> None:
        # Idle connections expire before uvicorn's 5 s keep-alive, so the client never
        # reuses one the server is closing (a ReadError that is the client's race, not a 5xx).
        limits = httpx.Limits(
            max_connections=self.args.concurrency,
            max_keepalive_connections=self.args.concurrency,
            keepalive_expiry=2.0,
        )
        headers = {"Authorization": f"Bearer {self.token}"}
        async with httpx.AsyncClient(
            base_url=self.base, headers=headers, limits=limits, timeout=self.args.timeout
        ) as client:
            self.t0 = time.perf_counter()
            deadline = self.t0 + self.args.minutes * 60
            users = [
                asyncio.create_task(self.user(i, client, deadline))
                for i in range(self.args.concurrency)
            ]
            sampler = asyncio.create_task(self.sampler(deadline))
            await asyncio.gather(*users)
            await sampler


def pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile of sorted values."""
    if not values:
        return 0.0
    k = max(0, min(len(values) - 1, round(p / 100 * len(values) + 0.5) - 1))
    return values[k]


# -- verification ---------------------------------------------------------------------


async def verify(db: str, ledger: Ledger) -> dict[str, Any]:
    """Every accepted pixel event and webhook order is stored, exactly once."""
    pixel_expected = sum(len(v) for v in ledger.pixel_ids.values())
    pixel_found = 0
    for workspace_id, ids in ledger.pixel_ids.items():
        pixel_found += int(
            await pg(
                db,
                "SELECT count(*) FROM pixel_events WHERE workspace_id = $1 AND event_id = ANY($2)",
                workspace_id,
                list(ids),
            )
        )
    order_expected = sum(len(v) for v in ledger.orders.values())
    order_found = 0
    for connection_id, ids in ledger.orders.items():
        order_found += int(
            await pg(
                db,
                "SELECT count(*) FROM shopify_orders WHERE connection_id = $1 "
                "AND external_id = ANY($2)",
                connection_id,
                list(ids),
            )
        )
    return {
        "pixel_events_sent": ledger.sent_pixel_events,
        "pixel_events_accepted_distinct": pixel_expected,
        "pixel_events_stored": pixel_found,
        "webhooks_sent": ledger.sent_orders,
        "webhook_statuses": ledger.webhook_status,
        "orders_accepted_distinct": order_expected,
        "orders_stored": order_found,
        "all_stored_once": pixel_found == pixel_expected and order_found == order_expected,
    }


# -- report ---------------------------------------------------------------------------


def summarise(driver: Driver, minutes: int) -> list[dict[str, Any]]:
    out = []
    for m in range(minutes):
        rows = [s for s in driver.samples if s.minute == m]
        entry: dict[str, Any] = {
            "minute": m + 1,
            "requests": len(rows),
            "5xx": sum(1 for s in rows if s.status >= 500),
            "transport_errors": sum(1 for s in rows if s.status == 0),
            "4xx": sum(1 for s in rows if 400 <= s.status < 500),
        }
        ms = sorted(s.ms for s in rows)
        entry.update(p50=round(pct(ms, 50), 1), p99=round(pct(ms, 99), 1))
        kinds = {}
        for k in MIX:
            kms = sorted(s.ms for s in rows if s.kind == k)
            statuses: dict[str, int] = {}
            for s in rows:
                if s.kind == k:
                    statuses[str(s.status)] = statuses.get(str(s.status), 0) + 1
            kinds[k] = {
                "requests": len(kms),
                "p50": round(pct(kms, 50), 1),
                "p99": round(pct(kms, 99), 1),
                "statuses": statuses,
            }
        entry["kinds"] = kinds
        rss = next((r for r in driver.rss if r["minute"] == m + 1), None)
        entry["rss_mb"] = {k: v for k, v in (rss or {}).items() if k != "minute"}
        out.append(entry)
    return out


def criteria(
    per_minute: list[dict[str, Any]],
    rss: list[dict[str, Any]],
    args: argparse.Namespace,
    verified: dict[str, Any],
) -> dict[str, dict[str, Any]]:
    total_5xx = sum(m["5xx"] + m["transport_errors"] for m in per_minute)
    first, last = per_minute[0], per_minute[-1]
    ratio = last["p99"] / first["p99"] if first["p99"] else float("inf")
    warm = next((r for r in rss if r["minute"] == args.warmup_minutes), rss[0])
    end = rss[-1]
    growth = {}
    ok_rss = True
    for name, base in warm.items():
        if name in ("minute", "supervisor") or base is None:
            continue
        now = end.get(name)
        limit = base * 1.10 + 20
        growth[name] = {"warm_mb": base, "end_mb": now, "limit_mb": round(limit, 1)}
        if now is None or now > limit:
            ok_rss = False
    return {
        "zero_5xx": {"pass": total_5xx == 0, "value": total_5xx},
        "p99_stable": {
            "pass": ratio <= 1.5,
            "first_p99_ms": first["p99"],
            "last_p99_ms": last["p99"],
            "ratio": round(ratio, 2),
        },
        "rss_flat_after_warmup": {"pass": ok_rss, "processes": growth},
        "accepted_data_stored": {"pass": bool(verified["all_stored_once"])},
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="metricx_soak")
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--workspaces", type=int, default=20)
    parser.add_argument("--ads", type=int, default=200)
    parser.add_argument("--days", type=int, default=120)
    parser.add_argument("--workers", type=int, default=2, help="API processes")
    parser.add_argument("--redis-db", type=int, default=5)
    parser.add_argument("--pool-size", type=int, help="per API process (app default 20)")
    parser.add_argument("--max-overflow", type=int, help="(app default 10)")
    parser.add_argument("--timeout", type=float, default=30.0, help="client timeout, s")
    parser.add_argument("--warmup-minutes", type=int, default=2, help="RSS baseline minute")
    parser.add_argument("--max-requests-per-user", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    if args.db in PROTECTED_DATABASES:
        sys.exit(f"refusing to use database {args.db!r}: it belongs to someone else")
    if args.minutes < 1 or args.concurrency < 1:
        sys.exit("--minutes and --concurrency must be at least 1")

    redis_url = f"redis://127.0.0.1:6379/{args.redis_db}"
    env = {
        **os.environ,
        "METRICX_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{args.db}",
        "METRICX_REDIS_URL": redis_url,
        "METRICX_ENV": "development",
        "METRICX_SECRET_KEY": "soak-secret-key-0123456789abcdefghij",
        "METRICX_SHOPIFY_APP_SECRET": WEBHOOK_SECRET,
        "METRICX_LOG_LEVEL": "WARNING",
        # Loopback only: no provider or LLM call can leave the machine.
        "METRICX_META_GRAPH_URL": DEAD_URL,
        "METRICX_GOOGLE_ADS_URL": DEAD_URL,
        "METRICX_GOOGLE_OAUTH_URL": DEAD_URL,
        "METRICX_TIKTOK_URL": DEAD_URL,
        "METRICX_SHOPIFY_BASE_URL_OVERRIDE": DEAD_URL,
        "METRICX_ANTHROPIC_BASE_URL": DEAD_URL,
    }
    for key in (
        "ANTHROPIC_API_KEY",
        "METRICX_ANTHROPIC_API_KEY",
        "SENTRY_DSN",
        "METRICX_SENTRY_DSN",
    ):
        env.pop(key, None)

    dataset = ensure_dataset(args, env)
    targets = asyncio.run(load_targets(args.db, args.workspaces))
    if not targets:
        sys.exit("no workspace with a Shopify connection in the soak database")
    log(f"{dataset['facts']:,} facts, {len(targets)} workspaces in the mix")

    import redis

    redis.Redis.from_url(redis_url).flushdb()  # our own Redis database: stale jobs and cache

    logs = Path(tempfile.mkdtemp(prefix="metricx-soak-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    serve_argv = [str(BIN / "metricx"), "serve", "--host", "127.0.0.1", "--port", str(port),
                  "--workers", str(args.workers)]  # fmt: skip
    serve = start(serve_argv, env, logs / "serve.log")
    worker = start([str(BIN / "metricx"), "worker"], env, logs / "worker.log")
    shutdown: dict[str, Any] = {}
    try:
        wait_ready(base, serve, logs / "serve.log")
        procs = Processes(serve, worker)
        deadline = time.time() + 20
        while len(procs.api_pids) < args.workers and time.time() < deadline:
            procs.discover()
            time.sleep(0.2)
        r = httpx.post(
            f"{base}/api/auth/login",
            json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
            timeout=10,
        )
        r.raise_for_status()
        token = str(r.json()["access_token"])
        log(
            f"serve pid {serve.pid} (api {procs.api_pids}), worker pid {worker.pid}; "
            f"{args.minutes} min at concurrency {args.concurrency}; logs in {logs}"
        )
        driver = Driver(base, token, targets, args, procs)
        asyncio.run(driver.run())
        replaced = procs.replaced()
        time.sleep(2)  # let the queued attribution jobs start; they do not affect the check
    finally:
        shutdown["serve"] = stop(serve)
        shutdown["worker"] = stop(worker)
    verified = asyncio.run(verify(args.db, driver.ledger))
    per_minute = summarise(driver, args.minutes)
    crit = criteria(per_minute, driver.rss, args, verified)
    unhandled = sum(
        line.count("http.unhandled") for line in (logs / "serve.log").read_text().splitlines()
    )
    report(args, dataset, per_minute, driver, verified, crit, shutdown, replaced, unhandled, logs)
    if not all(c["pass"] for c in crit.values()):
        sys.exit(1)


def report(
    args: argparse.Namespace,
    dataset: dict[str, Any],
    per_minute: list[dict[str, Any]],
    driver: Driver,
    verified: dict[str, Any],
    crit: dict[str, dict[str, Any]],
    shutdown: dict[str, Any],
    replaced: list[int],
    unhandled: int,
    logs: Path,
) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    commit = git_commit()
    name = f"soak-{dt.date.today().isoformat()}-{commit}.json"
    all_ms = sorted(s.ms for s in driver.samples)
    payload = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "cpus": os.cpu_count(),
        "load_average_end": os.getloadavg(),
        "options": vars(args),
        "mix": MIX,
        "dataset": dataset,
        "total_requests": len(driver.samples),
        "overall_p50_ms": round(pct(all_ms, 50), 1),
        "overall_p99_ms": round(pct(all_ms, 99), 1),
        "mean_rps": round(len(driver.samples) / (args.minutes * 60), 1),
        "per_minute": per_minute,
        "rss_mb": driver.rss,
        "verification": verified,
        "criteria": crit,
        "shutdown": shutdown,
        "api_processes_replaced": replaced,
        "server_unhandled_errors_logged": unhandled,
        "transport_errors": driver.errors,
        "logs": str(logs),
    }
    (RESULTS / name).write_text(json.dumps(payload, indent=2) + "\n")

    names = [k for k in driver.rss[0] if k not in ("minute",)]
    print(
        "\n| minute | requests | 5xx | errors | 4xx | p50 ms | p99 ms | "
        + " | ".join(f"{n} MB" for n in names)
        + " |"
    )
    print("|" + "---|" * (7 + len(names)))
    start_rss = driver.rss[0]
    print("| start | | | | | | | " + " | ".join(str(start_rss.get(n)) for n in names) + " |")
    for m in per_minute:
        print(
            f"| {m['minute']} | {m['requests']} | {m['5xx']} | {m['transport_errors']} | "
            f"{m['4xx']} | "
            f"{m['p50']} | {m['p99']} | "
            + " | ".join(str(m["rss_mb"].get(n)) for n in names)
            + " |"
        )
    print("\n| kind | requests | p50 ms (first / last min) | p99 ms (first / last min) |")
    print("|---|---|---|---|")
    first, last = per_minute[0]["kinds"], per_minute[-1]["kinds"]
    for k in MIX:
        total = sum(m["kinds"][k]["requests"] for m in per_minute)
        print(
            f"| {k} | {total} | {first[k]['p50']} / {last[k]['p50']} | "
            f"{first[k]['p99']} / {last[k]['p99']} |"
        )
    v = verified
    print(
        f"\n{len(driver.samples)} requests ({payload['mean_rps']} req/s), overall p50 "
        f"{payload['overall_p50_ms']} ms, p99 {payload['overall_p99_ms']} ms"
    )
    print(
        f"pixel events accepted {v['pixel_events_accepted_distinct']}, "
        f"stored {v['pixel_events_stored']}; "
        f"webhook orders accepted {v['orders_accepted_distinct']}, stored {v['orders_stored']} "
        f"(webhook answers {v['webhook_statuses']})"
    )
    print(f"shutdown: {shutdown}; server unhandled errors logged: {unhandled}")
    if driver.errors:
        print(f"transport errors: {driver.errors}")
    if replaced:
        print(f"WARNING: API processes replaced during the run: {replaced}")
    for key, c in crit.items():
        detail = {k: val for k, val in c.items() if k != "pass"}
        print(f"{'PASS' if c['pass'] else 'FAIL'}  {key}  {json.dumps(detail)}")
    print(f"results: bench/results/{name}; logs: {logs}")


if __name__ == "__main__":
    main()
