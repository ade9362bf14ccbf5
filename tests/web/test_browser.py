"""The pages in a real browser: Chromium through Playwright against the real app on demo data."""

from __future__ import annotations

import os
import re
import statistics
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from metricx.attribution.service import run_attribution
from metricx.db import Database
from metricx.models import Connection, Entity, SyncRun, Workspace
from metricx.sync.writer import OrderRow, upsert_orders
from metricx.web import format as fmt
from tests.web.live_server import SECOND_WORKSPACE, LiveServer, start_live_server, stop_live_server

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
KPI = "[data-kpi=revenue] [data-kpi-value]"
BUDGET_MS = 200


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    if not Path(CHROMIUM).exists():
        if os.environ.get("METRICX_TEST_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{CHROMIUM} is required for the browser tests")
        pytest.skip(f"{CHROMIUM} is not installed")
    server_info, server, thread = start_live_server(tmp_path_factory.mktemp("browser"))
    try:
        yield server_info
    finally:
        stop_live_server(server_info, server, thread)


@pytest.fixture(scope="module")
def browser(live: LiveServer) -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def signed_in_state(browser, live: LiveServer) -> dict:  # type: ignore[no-untyped-def]
    """Cookies of a signed-in session, reused by tests that do not test the login itself."""
    context = browser.new_context(base_url=live.url)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", live.tenant.email)
    page.fill("#password", live.tenant.password)
    page.click("button[type=submit]")
    page.wait_for_url("**/w/*")
    state = context.storage_state()
    context.close()
    return state


class Watch:
    """Console errors, page errors and every request a page makes."""

    def __init__(self, page, live: LiveServer) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        self.requests: list[tuple[str, str]] = []
        self.app_host = urlparse(live.url).netloc
        self.hosts = {self.app_host}  # a test that leaves the app on purpose adds the host
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append((r.resource_type, r.url)))

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        foreign = [
            u
            for _, u in self.requests
            if not u.startswith("data:") and urlparse(u).netloc not in self.hosts
        ]
        assert foreign == [], foreign


@pytest.fixture
def page(browser, live: LiveServer, signed_in_state):  # type: ignore[no-untyped-def]
    context = browser.new_context(
        base_url=live.url, storage_state=signed_in_state, viewport={"width": 1440, "height": 900}
    )
    pg = context.new_page()
    pg.watch = Watch(pg, live)
    yield pg
    context.close()
    pg.watch.assert_clean()


def dash(live: LiveServer) -> str:
    return f"/w/{live.tenant.workspace_id}"


def api(live: LiveServer) -> str:
    return f"/api/workspaces/{live.tenant.workspace_id}"


def test_login_flow(browser, live: LiveServer) -> None:
    context = browser.new_context(base_url=live.url)
    pg = context.new_page()
    watch = Watch(pg, live)
    pg.goto(dash(live))
    assert "/login?next=" in pg.url
    pg.fill("#email", live.tenant.email)
    pg.fill("#password", "wrong password")
    pg.click("button[type=submit]")
    assert "Invalid email or password" in pg.inner_text("[role=alert]")
    pg.fill("#password", live.tenant.password)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"**{dash(live)}")
    assert pg.is_visible(KPI)
    pg.click("text=Sign out")
    pg.wait_for_url("**/login")
    context.close()
    # Chromium logs the deliberate 401 of the wrong password as a console error.
    watch.errors = [e for e in watch.errors if "401" not in e]
    watch.assert_clean()


def test_dashboard_first_load_is_one_document_plus_assets_plus_insights(page, live) -> None:
    page.goto(dash(live))
    page.wait_for_selector(".insight-list")
    page.wait_for_timeout(300)
    kinds = [(t, urlparse(u).path) for t, u in page.watch.requests]
    documents = [p for t, p in kinds if t == "document"]
    data_requests = [p for t, p in kinds if t in ("fetch", "xhr", "eventsource", "websocket")]
    others = [p for t, p in kinds if t not in ("document", "fetch", "xhr")]
    assert documents == [dash(live)]
    assert data_requests == [f"{api(live)}/insights"]
    assert all(p.startswith("/static/") for p in others), others
    assert page.inner_text("[data-kpi=revenue] .kpi-label") == "REVENUE"
    assert re.fullmatch(r"\$[\d,]+\.\d\d", page.inner_text(KPI))
    assert page.is_visible("svg.chart polyline.line-revenue")
    # The real insights: the demo's biggest drop and best performer.
    assert "Biggest drop" in page.inner_text(".insights")
    # The attribution card on real data: revenue, channels and the latest orders.
    assert re.fullmatch(r"\$[\d,]+\.\d\d", page.inner_text("[data-attr-revenue]"))
    assert page.locator(".channels li").count() >= 3
    assert page.locator("[data-feed] li .feed-order").count() == 8
    assert "Google Ads" in page.inner_text("[data-feed]") or "Meta" in page.inner_text(
        "[data-feed]"
    )


def test_freshness_says_when_the_demo_was_loaded(page, live) -> None:
    page.goto(dash(live))
    text = page.inner_text("[data-freshness]")
    assert re.search(r"Updated\s+(just now|\d+ min ago)", text), text
    assert "never" not in text
    assert page.locator("[data-freshness] .conn-ok").count() == 3
    assert page.locator("[data-freshness] .dot-ok").count() == 1


def test_timeframe_switch_changes_url_and_numbers(page, live) -> None:
    page.goto(dash(live))
    before = page.inner_text(KPI)
    page.click("[data-timeframe=last_7_days]")
    page.wait_for_url("**timeframe=last_7_days")
    after = page.inner_text(KPI)
    assert before != after
    assert page.get_attribute("[data-timeframe=last_7_days]", "aria-current") == "true"
    start = date.today() - timedelta(days=20)
    end = start + timedelta(days=9)
    page.click(".picker-custom summary")
    page.fill("input[name=start]", start.isoformat())
    page.fill("input[name=end]", end.isoformat())
    page.click(".picker-form button")
    page.wait_for_url(f"**start={start.isoformat()}**")
    assert f"{fmt.long_date(start)} \u2013 {fmt.long_date(end)}" in page.inner_text(".period")
    assert page.inner_text(KPI) not in (before, after)
    # Keyboard: the presets are links in tab order.
    page.focus("[data-timeframe=yesterday]")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_url("**timeframe=today")


# Navigation start (performance.now() is 0 there) to the revenue KPI being painted: the
# Element Timing entry of its value (renderTime), else the first animation frame in which
# a MutationObserver saw it laid out and visible.
KPI_TIMING_INIT = """(() => {
  const SEL = "[data-kpi=revenue] [data-kpi-value]";
  window.__kpi = { element: null, frame: null };
  try {
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.identifier === "kpi-revenue" && window.__kpi.element === null) {
          window.__kpi.element = e.renderTime || e.loadTime;
        }
      }
    }).observe({ type: "element", buffered: true });
  } catch (e) {}
  const visible = (el) => {
    const box = el.getBoundingClientRect();
    const shown = !el.checkVisibility ||
      el.checkVisibility({ opacityProperty: true, visibilityProperty: true });
    return box.width > 0 && box.height > 0 && el.textContent.trim() !== "" && shown;
  };
  const frame = () => requestAnimationFrame((t) => {
    const el = document.querySelector(SEL);
    if (el && visible(el)) { window.__kpi.frame = performance.now(); } else { frame(); }
  });
  const seen = new MutationObserver(() => {
    if (document.querySelector(SEL)) { seen.disconnect(); frame(); }
  });
  seen.observe(document, { childList: true, subtree: true });
})();"""

KPI_TIMING_READ = """() => new Promise((resolve) => {
  const started = performance.now();
  const poll = () => {
    const k = window.__kpi || {};
    if (k.element !== null && k.element !== undefined) return resolve(k.element);
    if (k.frame !== null && performance.now() - started > 1000) return resolve(k.frame);
    setTimeout(poll, 20);
  };
  poll();
})"""


def _kpi_samples(page, live, n: int) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        page.goto(dash(live), wait_until="commit")
        page.wait_for_selector(KPI, state="visible", timeout=5000)
        samples.append(float(page.evaluate(KPI_TIMING_READ)))
    return samples


def _median_within_budget(page, live, n: int = 10) -> tuple[list[int], list[float]]:  # type: ignore[no-untyped-def]
    """Medians of rounds of n loads; the shared CI box gets one retry round when noisy."""
    page.add_init_script(KPI_TIMING_INIT)
    _kpi_samples(page, live, 3)  # warm the server, the payload cache and the static cache
    rounds = []
    for _ in range(2):
        rounds.append(_kpi_samples(page, live, n))
        if statistics.median(rounds[-1]) <= BUDGET_MS:
            break
    return [round(statistics.median(r)) for r in rounds], rounds[-1]


def test_time_to_visible_kpis_median_under_200ms(page, live) -> None:
    """Navigation start to the revenue KPI painted, median of 10 warm loads."""
    medians, last = _median_within_budget(page, live)
    print(f"navigation to visible KPIs: medians {medians} ms, last samples "
          f"{sorted(round(s) for s in last)}")  # fmt: skip
    assert medians[-1] <= BUDGET_MS, (medians, last)


def test_kpis_visible_while_insights_are_slow(page, live) -> None:
    """With the insights endpoint taking 10 s, the KPIs still paint within the budget."""
    live.insights_delay = 10
    try:
        medians, last = _median_within_budget(page, live, n=5)
        print(f"visible KPIs with insights slowed to 10 s: medians {medians} ms, last "
              f"samples {sorted(round(s) for s in last)}")  # fmt: skip
        assert medians[-1] <= BUDGET_MS, (medians, last)
        assert "Looking for what changed" in page.inner_text(".insights")
        assert page.get_attribute(".insights", "aria-busy") == "true"
    finally:
        live.insights_delay = 0
        page.goto("about:blank")


def test_insights_failure_shows_retry_and_keeps_the_kpis(page, live) -> None:
    live.insights_fail = True
    try:
        page.goto(dash(live))
        page.wait_for_selector(".insights .state-error-text")
        assert "Something went wrong on our side." in page.inner_text(".insights")
        assert page.get_attribute(".insights", "aria-busy") == "false"
        assert re.fullmatch(r"\$[\d,]+\.\d\d", page.inner_text(KPI))
        assert page.locator("[data-kpi]").count() >= 6
    finally:
        live.insights_fail = False
    page.click(".insights button:has-text('Try again')")
    page.wait_for_selector(".insight-list")
    assert "Biggest drop" in page.inner_text(".insights")
    # Chromium reports the deliberate 500 as a console error.
    page.watch.errors = [e for e in page.watch.errors if "500" not in e]


def test_workspace_switcher_navigates_to_the_other_workspace(page, live) -> None:
    page.goto(dash(live))
    page.click(".switcher summary")
    menu = page.locator(".switcher-menu")
    assert menu.locator("a[aria-current=true]").inner_text().startswith("Northwind Outdoor")
    menu.locator("a", has_text=SECOND_WORKSPACE).click()
    page.wait_for_url(f"**/w/{live.other_workspace_id}")
    assert page.inner_text("h1") == SECOND_WORKSPACE
    assert page.inner_text(".switcher-name") == SECOND_WORKSPACE
    assert page.is_visible("text=Connect an ad account to see your numbers")
    page.click(".switcher summary")
    page.locator(".switcher-menu a", has_text="Northwind Outdoor").click()
    page.wait_for_url(f"**{dash(live)}")
    assert page.is_visible(KPI)


def test_drill_down_campaign_to_adset_to_ad_and_sort(page, live) -> None:
    page.goto(f"{dash(live)}/campaigns?timeframe=last_30_days")
    rows = page.locator("tbody tr")
    assert rows.count() >= 4
    spend_th = page.locator("th", has=page.locator("button[data-sort-key=spend]"))
    assert spend_th.get_attribute("aria-sort") == "descending"
    page.click("button[data-sort-key=spend]")
    assert spend_th.get_attribute("aria-sort") == "ascending"
    first = rows.first.get_attribute("data-spend")
    last = rows.last.get_attribute("data-spend")
    assert float(first) <= float(last)
    page.click("button[data-sort-key=name]")
    name_th = page.locator("th", has=page.locator("button[data-sort-key=name]"))
    assert name_th.get_attribute("aria-sort") == "ascending"
    names = [n.strip() for n in rows.locator("th.name a").all_inner_texts()]
    assert names == sorted(names, key=str.lower) or names == sorted(names)
    # A Performance Max campaign is a leaf (no ad sets): its name is not a drill-down link.
    pmax = rows.filter(has_text="Performance Max")
    assert pmax.count() >= 1 and pmax.locator("th.name a").count() == 0
    campaign = rows.locator("th.name a").first
    campaign_name = campaign.inner_text().strip()
    campaign.click()
    page.wait_for_url("**level=adset**parent_id=**")
    assert "Ad sets" in page.inner_text("h1")
    assert "timeframe=last_30_days" in page.url
    # The breadcrumb names the campaign (from the service), not "Campaign #id".
    crumbs = page.inner_text("nav.crumbs")
    assert campaign_name in crumbs and "#" not in crumbs
    adset = page.locator("tbody tr th.name a").first
    adset_name = adset.inner_text().strip()
    adset.click()
    page.wait_for_url("**level=ad&**")
    assert page.inner_text("h1") == "Ads"
    assert page.locator("tbody tr").count() >= 1
    crumbs = page.locator("nav.crumbs")
    assert crumbs.locator("[aria-current=page]").inner_text() == adset_name
    assert "export.csv" in page.get_attribute("text=Export CSV", "href")
    crumbs.locator("a", has_text=campaign_name).click()
    page.wait_for_url("**level=adset**")
    assert "Ad sets" in page.inner_text("h1")


def test_settings_page_renders_and_saves(page, live) -> None:
    ws = live.tenant.workspace_id
    page.goto(f"{dash(live)}/settings")
    page.wait_for_selector(".conn-list")
    connections = page.inner_text("#connections")
    assert page.locator("#connections button", has_text="Sync now").count() == 3
    assert re.search(r"Last success (just now|\d+ min ago)", connections), connections
    page.wait_for_selector("#members table")
    assert live.tenant.email in page.inner_text("#members")
    assert "data-key=" in page.inner_text("#pixel-code")
    # Sync now: the real endpoint queues a run (the job itself never calls a provider).
    page.locator("#connections button", has_text="Sync now").first.click()
    page.wait_for_selector("text=Sync queued.")
    assert any(name == "sync_connection" for name, _ in live.jobs)

    async def queued_runs(db: Database) -> int:
        async with db.transaction() as s:
            runs = await s.scalars(select(SyncRun).where(SyncRun.workspace_id == ws))
            return sum(1 for r in runs if r.status == "queued")

    assert live.run(queued_runs) == 1
    # Invite a member through the form; the list reloads with the pending invite.
    page.fill("#inv-email", "analyst@example.com")
    page.select_option("#inv-role", "viewer")
    page.locator("#members button[type=submit]").click()
    page.wait_for_selector("#members >> text=Invite created")
    page.wait_for_selector("#members td:has-text('analyst@example.com')")
    # Rename, then restore the name for the other tests.
    page.fill("#set-name", "Northwind EU")
    page.locator("#workspace button[type=submit]").click()
    page.wait_for_selector("#workspace >> text=Saved.")
    page.reload()
    assert page.inner_text(".switcher-name") == "Northwind EU"
    page.fill("#set-name", "Northwind Outdoor")
    page.locator("#workspace button[type=submit]").click()
    page.wait_for_selector("#workspace >> text=Saved.")
    # The 90-day window the engine accepts is offered and saved; then back to 7 days.
    page.select_option("#attr-window", "90")
    page.locator("#attribution button[type=submit]").click()
    page.wait_for_selector("#attribution >> text=Saved.")

    async def settings(db: Database) -> tuple[str, int]:
        async with db.transaction() as s:
            row = await s.get(Workspace, ws)
            return row.name, row.attribution_window_days

    assert live.run(settings) == ("Northwind Outdoor", 90)
    assert any(name == "attribute_orders" for name, _ in live.jobs)
    page.select_option("#attr-window", "7")
    page.locator("#attribution button[type=submit]").click()
    page.wait_for_selector("#attribution >> text=Saved.")
    assert live.run(settings) == ("Northwind Outdoor", 7)


ACCESSIBLE_NAMES_JS = """() => {
  const text = (el) => (el ? el.textContent : "").replace(/\\s+/g, " ").trim();
  const nameOf = (el) => (el.getAttribute("aria-label") || "").trim()
    || (el.getAttribute("aria-labelledby") || "").split(/\\s+/).filter(Boolean)
         .map((id) => text(document.getElementById(id))).join(" ").trim()
    || Array.from(el.labels || []).map(text).join(" ").trim()
    || (el.tagName === "BUTTON" ? text(el) : "")
    || (el.getAttribute("title") || "").trim();
  return Array.from(document.querySelectorAll("input, select, textarea, button"))
    .filter((el) => el.type !== "hidden" && !nameOf(el))
    .map((el) => el.outerHTML.slice(0, 160));
}"""


def test_every_field_on_the_dashboard_and_settings_has_an_accessible_name(page, live) -> None:
    page.goto(dash(live))
    page.wait_for_selector(".insight-list")
    fields = page.locator("input:not([type=hidden]), select, button").count()
    assert fields >= 4
    assert page.evaluate(ACCESSIBLE_NAMES_JS) == []
    assert page.get_by_label("Ask a question about your data").count() == 1
    page.goto(f"{dash(live)}/settings")
    page.wait_for_selector(".conn-list")
    page.wait_for_selector("#members table")
    assert page.locator("input:not([type=hidden]), select, button").count() >= 10
    assert page.evaluate(ACCESSIBLE_NAMES_JS) == []
    for label in ("Name", "Timezone", "Reporting currency", "Invite by email", "Model", "Window"):
        assert page.get_by_label(label, exact=True).count() == 1, label


def _connect_meta(page, live: LiveServer) -> str:  # type: ignore[no-untyped-def]
    """Click Connect Meta; the fake approves; back on settings, the picker's text."""
    page.goto(f"{dash(live)}/settings#connections")
    page.locator("#connections button", has_text="Connect Meta").click()
    # start → the fake's consent dialog → the callback → here, with the grant in ?oauth= once.
    page.wait_for_url(f"**{dash(live)}/settings**")
    page.wait_for_selector("[data-oauth-picker] [data-account]")
    assert "oauth=" not in page.url  # dropped from the address bar and history
    return str(page.inner_text("[data-oauth-picker]"))


def test_settings_oauth_picker_connects_the_picked_accounts(page, live) -> None:
    meta = live.meta
    assert meta is not None
    page.watch.hosts.add(urlparse(meta.url).netloc)  # the provider's dialog is the flow
    ws = live.tenant.workspace_id
    oauth = f"{api(live)}/connections/oauth"
    before, dialogs, tokens = len(live.calls), meta.calls["dialog"], meta.calls["oauth_token"]

    picker = _connect_meta(page, live)
    assert "Fake Meta Account" in picker and "Other account 1" in picker, picker
    assert "already connected" not in picker
    calls = live.calls[before:]
    for call in (
        f"POST {oauth}/meta/start",
        "GET /api/oauth/meta/callback",
        f"GET {dash(live)}/settings",
        f"GET {oauth}/accounts",
    ):
        assert call in calls, (call, calls)
    assert meta.calls["dialog"] == dialogs + 1
    assert meta.calls["oauth_token"] == tokens + 2  # the code, then the long-lived exchange

    page.check("[data-account][value=act_9000000001]")
    page.locator("[data-oauth-picker] button", has_text="Connect selected").click()
    page.wait_for_selector("text=Connected 1 account; the first sync is queued.")
    assert f"POST {oauth}/accounts" in live.calls[before:]

    async def connected(db: Database) -> list[Connection]:
        async with db.transaction() as s:
            query = select(Connection).where(
                Connection.workspace_id == ws, Connection.external_account_id.like("act_%")
            )
            return list(await s.scalars(query))

    (conn,) = live.run(connected)
    assert (conn.provider, conn.external_account_id) == ("meta", "act_9000000001")
    assert conn.name == "Other account 1" and conn.credentials_encrypted
    # Its first sync was queued, and dropped: it never reaches the fake.
    assert ("sync_connection", {"connection_id": conn.id, "workspace_id": ws}) in live.jobs
    assert set(meta.calls) == {"dialog", "oauth_token", "adaccounts"}, meta.calls
    assert page.is_visible("#connections button:has-text('Connect Meta')")

    # Connecting again: the picker marks the account this workspace now has.
    picker = _connect_meta(page, live)
    assert "act_9000000001 · EUR · Europe/Berlin · already connected" in picker, picker
    assert picker.count("already connected") == 1
    assert meta.calls["dialog"] == dialogs + 2

    # Leave the demo as it was for the tests after this one (the real DELETE endpoint).
    gone = page.evaluate(
        "(url) => window.mx.api(url, { method: 'DELETE' }).then((r) => r.status)",
        f"{api(live)}/connections/{conn.id}",
    )
    assert gone == 204 and live.run(connected) == []

    page.goto(f"{dash(live)}/settings?oauth_error=denied#connections")
    page.wait_for_selector("text=Connecting was cancelled at the provider")
    assert "oauth_error" not in page.url


def test_ask_streams_the_answer_with_visual_and_query(page, live) -> None:
    page.goto(f"{dash(live)}")
    page.fill("#search-q", "spend by platform last 30 days")
    page.press("#search-q", "Enter")
    page.wait_for_url("**/ask?q=spend**")
    page.wait_for_selector("[data-answer-query]:not([hidden])")
    text = page.inner_text("[data-answer-text]")
    assert text.startswith("Spend by platform"), text
    assert "Meta $" in text and "Google" in text
    assert page.is_visible("svg.bars")
    assert "Meta" in page.inner_text("[data-answer-visual] table")
    query = page.text_content("[data-answer-query-body]")
    assert '"provider"' in query and '"spend"' in query


def _shots(page, live, width: int) -> None:  # type: ignore[no-untyped-def]
    for name, path, ready in (
        ("dashboard", dash(live), ".insight-list"),
        ("campaigns", f"{dash(live)}/campaigns", "tbody tr"),
        ("ask", f"{dash(live)}/ask?q=spend+by+platform+last+30+days", "svg.bars"),
        ("settings", f"{dash(live)}/settings", "#members table"),
    ):
        page.goto(path)
        page.wait_for_selector(ready)
        if name == "settings":
            page.wait_for_selector(".conn-list")
        page.wait_for_timeout(150)
        page.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
        # Nothing pushes the page sideways; wide tables scroll inside their card.
        assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)


def test_screenshots(browser, live, signed_in_state) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height in ((1440, 900), (390, 844)):
        context = browser.new_context(
            base_url=live.url,
            storage_state=signed_in_state,
            viewport={"width": width, "height": height},
            device_scale_factor=1,
        )
        pg = context.new_page()
        watch = Watch(pg, live)
        _shots(pg, live, width)
        context.close()
        watch.assert_clean()
    for name in ("dashboard", "campaigns", "ask", "settings"):
        for width in (1440, 390):
            assert (ARTIFACTS / f"{name}-{width}.png").stat().st_size > 10_000, (name, width)


async def _new_attributed_order(db: Database, workspace_id: int) -> str:
    """A Meta-tagged order placed now, attributed by a real run (as the webhook would)."""
    async with db.transaction() as s:
        ws = await s.get(Workspace, workspace_id)
        shop = await s.scalar(
            select(Connection).where(
                Connection.workspace_id == workspace_id, Connection.provider == "shopify"
            )
        )
        ad = await s.scalar(
            select(Entity)
            .where(
                Entity.workspace_id == workspace_id,
                Entity.provider == "meta",
                Entity.level == "ad",
            )
            .order_by(Entity.id)
            .limit(1)
        )
        assert ws is not None and shop is not None and ad is not None
        now = datetime.now(UTC).replace(microsecond=0)
        query = f"utm_source=facebook&utm_medium=paid_social&utm_content={ad.external_id}"
        order = OrderRow(
            external_id="live-feed-9001",
            created_at=now,
            order_date=now.astimezone(ZoneInfo(ws.timezone)).date(),
            updated_at=now,
            currency=ws.currency,
            total_micros=123_450_000,
            subtotal_micros=123_450_000,
            order_number="#9001",
            landing_site=f"/products/tent?{query}&fbclid=live9001",
            utm_source="facebook",
            utm_medium="paid_social",
            utm_content=ad.external_id,
            fbclid="live9001",
        )
        await upsert_orders(s, workspace_id=workspace_id, connection_id=shop.id, rows=[order])
        await run_attribution(s, workspace_id)
        return ad.name


def test_feed_polls_every_10s_only_while_visible(page, live) -> None:
    page.clock.install()
    page.goto(dash(live))
    page.wait_for_selector(".insight-list")
    assert live.count("/attribution/feed") == 0 or "9001" not in page.inner_text("[data-feed]")
    before = live.count("/attribution/feed")
    ad_name = live.run(lambda db: _new_attributed_order(db, live.tenant.workspace_id))
    page.clock.run_for(10_500)
    page.wait_for_selector("[data-feed] >> text=#9001")
    assert live.count("/attribution/feed") == before + 1
    first = page.locator("[data-feed] li").first
    assert first.locator(".feed-order").inner_text() == "#9001"
    assert first.locator(".feed-rev").inner_text() == "$123.45"
    meta = first.locator(".feed-meta").inner_text()
    assert meta.startswith("Meta · ") and ad_name in meta and "just now" in meta, meta
    assert page.locator("[data-feed] li").count() == 8
    # A hidden tab does not poll.
    page.evaluate("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'})")
    page.clock.run_for(30_000)
    page.wait_for_timeout(200)
    assert live.count("/attribution/feed") == before + 1
