"""The pages in a real browser: Chromium through Playwright against a live uvicorn server."""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.factories import PASSWORD
from tests.web.live_server import LiveServer, start_live_server, stop_live_server

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
        stop_live_server(server, thread)


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
    page.fill("#password", PASSWORD)
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
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append((r.resource_type, r.url)))

    def assert_clean(self) -> None:
        assert self.errors == [], self.errors
        foreign = [
            u
            for _, u in self.requests
            if not u.startswith("data:") and urlparse(u).netloc != self.app_host
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
    pg.fill("#password", PASSWORD)
    pg.click("button[type=submit]")
    pg.wait_for_url(f"**{dash(live)}")
    assert pg.is_visible("[data-kpi=revenue] [data-kpi-value]")
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
    assert data_requests == [f"/api/workspaces/{live.tenant.workspace_id}/insights"]
    assert all(p.startswith("/static/") for p in others), others
    assert page.inner_text("[data-kpi=revenue] .kpi-label") == "REVENUE"
    assert page.is_visible("svg.chart polyline.line-revenue")
    assert "ROAS up on Meta" in page.inner_text(".insights")


def test_timeframe_switch_changes_url_and_numbers(page, live) -> None:
    page.goto(dash(live))
    before = page.inner_text("[data-kpi=revenue] [data-kpi-value]")
    page.click("[data-timeframe=last_7_days]")
    page.wait_for_url("**timeframe=last_7_days")
    after = page.inner_text("[data-kpi=revenue] [data-kpi-value]")
    assert before != after
    assert page.get_attribute("[data-timeframe=last_7_days]", "aria-current") == "true"
    page.click(".picker-custom summary")
    page.fill("input[name=start]", "2026-10-01")
    page.fill("input[name=end]", "2026-10-14")
    page.click(".picker-form button")
    page.wait_for_url("**start=2026-10-01**")
    assert "Oct 1, 2026" in page.inner_text(".period")
    # Keyboard: the presets are links in tab order.
    page.focus("[data-timeframe=yesterday]")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.wait_for_url("**timeframe=today")


def test_kpis_visible_while_insights_are_slow(page, live) -> None:
    live.insights_delay = 10
    try:
        started = time.perf_counter()
        page.goto(dash(live), wait_until="commit")
        page.wait_for_selector("[data-kpi=revenue] [data-kpi-value]", state="visible")
        elapsed = time.perf_counter() - started
        assert elapsed < 2, elapsed
        assert "Looking for what changed" in page.inner_text(".insights")
        assert page.get_attribute(".insights", "aria-busy") == "true"
    finally:
        live.insights_delay = 0
        page.goto("about:blank")


# The paint entry can land just after `load`: wait for it through a buffered observer.
FCP_JS = """() => new Promise((resolve) => {
  new PerformanceObserver((list, observer) => {
    const entry = list.getEntriesByName("first-contentful-paint")[0];
    if (entry) { observer.disconnect(); resolve(entry.startTime); }
  }).observe({ type: "paint", buffered: true });
})"""


def _fcp_samples(page, live, n: int = 10) -> list[float]:  # type: ignore[no-untyped-def]
    samples = []
    for _ in range(n):
        page.goto(dash(live), wait_until="load")
        assert page.is_visible("[data-kpi=revenue] [data-kpi-value]")
        samples.append(page.evaluate(FCP_JS))
    return samples


def test_time_to_visible_kpis_median_under_200ms(page, live) -> None:
    """Navigation start to first contentful paint, which already holds the KPIs.

    Warm server; the CI box is shared, so one noisy round of 10 gets one retry.
    """
    _fcp_samples(page, live, 3)  # warm the server, the static cache and the process
    rounds = []
    for _ in range(2):
        samples = _fcp_samples(page, live)
        rounds.append(samples)
        if statistics.median(samples) <= 200:
            break
    medians = [round(statistics.median(r)) for r in rounds]
    print(f"navigation to visible KPIs (FCP): medians {medians} ms, last samples "
          f"{sorted(round(s) for s in rounds[-1])}")  # fmt: skip
    assert medians[-1] <= 200, rounds


def test_drill_down_campaign_to_adset_to_ad_and_sort(page, live) -> None:
    page.goto(f"{dash(live)}/campaigns?timeframe=last_7_days")
    rows = page.locator("tbody tr")
    assert rows.count() == 3
    spend_th = page.locator("th", has=page.locator("button[data-sort-key=spend]"))
    assert spend_th.get_attribute("aria-sort") == "descending"
    page.click("button[data-sort-key=spend]")
    assert spend_th.get_attribute("aria-sort") == "ascending"
    first = rows.first.get_attribute("data-spend")
    last = rows.last.get_attribute("data-spend")
    assert float(first) <= float(last)
    page.click("button[data-sort-key=name]")
    assert (
        page.locator("th", has=page.locator("button[data-sort-key=name]")).get_attribute(
            "aria-sort"
        )
        == "ascending"
    )
    page.click("text=Prospecting — Broad")
    page.wait_for_url("**level=adset**parent_id=1**")
    assert "Ad sets" in page.inner_text("h1")
    assert "timeframe=last_7_days" in page.url
    page.click("text=Adset 11")
    page.wait_for_url("**level=ad**parent_id=11**")
    assert page.inner_text("h1") == "Ads"
    assert "Ad 111" in page.inner_text("tbody")
    assert "export.csv" in page.get_attribute("text=Export CSV", "href")


def test_settings_page_renders_and_syncs(page, live) -> None:
    page.goto(f"{dash(live)}/settings")
    page.wait_for_selector(".conn-list")
    assert "Token revoked" in page.inner_text("#connections")
    page.wait_for_selector("#members table")
    assert live.tenant.email in page.inner_text("#members")
    assert "analyst@example.com" in page.inner_text("#members")
    assert "data-key=" in page.inner_text("#pixel-code")
    page.locator("#connections button", has_text="Sync now").first.click()
    page.wait_for_selector("text=Sync queued.")
    assert "sync:1:True" in live.calls
    page.fill("#set-name", "Northwind EU")
    page.locator("#workspace button[type=submit]").click()
    page.wait_for_selector("#workspace >> text=Saved.")
    page.select_option("#attr-window", "14")
    page.locator("#attribution button[type=submit]").click()
    page.wait_for_selector("#attribution >> text=Saved.")
    patches = [c for c in live.calls if c.startswith("patch:")]
    ws = live.tenant.workspace_id
    assert any(c.startswith(f"patch:/api/workspaces/{ws}:True:") and "Northwind EU" in c
               for c in patches), patches  # fmt: skip
    assert any(c.startswith(f"patch:/api/workspaces/{ws}/attribution/settings:True:")
               and '"window_days":14' in c for c in patches), patches  # fmt: skip


def test_settings_oauth_picker_connects_the_picked_accounts(page, live) -> None:
    # Where the OAuth callback sends the browser: the grant rides in ?oauth= once.
    page.goto(f"{dash(live)}/settings?oauth=GRANT-1#connections")
    page.wait_for_selector("[data-oauth-picker] [data-account]")
    assert "oauth=" not in page.url  # dropped from the address bar and history
    picker = page.inner_text("[data-oauth-picker]")
    assert "Brand EU" in picker and "already connected" in picker
    assert "oauth_accounts:GRANT-1" in live.calls
    page.check("[data-account][value=act_1]")
    page.locator("[data-oauth-picker] button", has_text="Connect selected").click()
    page.wait_for_selector("text=Connected 1 account; the first sync is queued.")
    assert "oauth_connect:True:GRANT-1:act_1" in live.calls
    assert page.is_visible("#connections button:has-text('Connect Meta')")
    page.goto(f"{dash(live)}/settings?oauth_error=denied#connections")
    page.wait_for_selector("text=Connecting was cancelled at the provider")
    assert "oauth_error" not in page.url


def test_ask_streams_the_answer_with_visual_and_query(page, live) -> None:
    page.goto(f"{dash(live)}")
    page.fill("#search-q", "spend by platform this month")
    page.press("#search-q", "Enter")
    page.wait_for_url("**/ask?q=spend**")
    page.wait_for_selector("[data-answer-query]:not([hidden])")
    assert page.inner_text("[data-answer-text]") == "Meta spent the most: $4,210.00."
    assert page.is_visible("svg.bars")
    assert "$2,300.50" in page.inner_text("[data-answer-visual] table")
    assert '"breakdown": "provider"' in page.text_content("[data-answer-query-body]")


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
        for name, path in (
            ("dashboard", dash(live)),
            ("campaigns", f"{dash(live)}/campaigns"),
            ("settings", f"{dash(live)}/settings"),
            ("ask", f"{dash(live)}/ask?q=spend+by+platform"),
        ):
            pg.goto(path)
            pg.wait_for_load_state("networkidle")
            pg.wait_for_timeout(200)
            pg.screenshot(path=str(ARTIFACTS / f"{name}-{width}.png"), full_page=True)
            # Nothing pushes the page sideways; wide tables scroll inside their card.
            assert pg.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
        context.close()
        watch.assert_clean()


def test_feed_polls_every_10s_only_while_visible(page, live) -> None:
    page.clock.install()
    page.goto(dash(live))
    page.wait_for_selector(".insight-list")
    assert "feed" not in live.calls[-3:]
    before = live.calls.count("feed")
    page.clock.run_for(10_500)
    page.wait_for_selector("text=#1044")
    assert live.calls.count("feed") == before + 1
    assert "Brand search" in page.inner_text("[data-feed]")
    # A hidden tab does not poll.
    page.evaluate("Object.defineProperty(document, 'visibilityState', {get: () => 'hidden'})")
    page.clock.run_for(30_000)
    page.wait_for_timeout(200)
    assert live.calls.count("feed") == before + 1
