/* Dashboard: lazy AI insights after first paint, and the live feed of attributed orders. */
(function () {
  "use strict";
  var mx = window.mx;
  var el = mx.el;
  var FEED_INTERVAL_MS = 10000;

  function insightText(item) {
    if (typeof item === "string") return { title: "", body: item };
    return {
      title: item.title || item.headline || "",
      body: item.body || item.text || item.summary || item.message || "",
      tone: item.severity || item.tone || item.kind || ""
    };
  }

  function renderInsights(panel, body, data) {
    var items = Array.isArray(data) ? data : (data && (data.insights || data.items)) || [];
    if (!items.length) {
      mx.replace(body, [el("p", { class: "muted", text: "Nothing unusual in this period." })]);
      return;
    }
    var list = el("ul", { class: "insight-list" }, items.slice(0, 6).map(function (item) {
      var t = insightText(item);
      return el("li", { class: "insight" + (t.tone ? " insight-" + String(t.tone).replace(/[^a-z_-]/gi, "") : "") }, [
        t.title ? el("strong", { text: t.title }) : null,
        t.body ? el("p", { text: t.body }) : null
      ]);
    }));
    mx.replace(body, [list]);
  }

  function loadInsights() {
    var panel = document.querySelector("[data-insights-url]");
    if (!panel) return;
    var body = panel.querySelector("[data-insights-body]");
    mx.api(panel.getAttribute("data-insights-url")).then(function (result) {
      panel.setAttribute("aria-busy", "false");
      if (result.ok) { renderInsights(panel, body, result.data); return; }
      var retry = el("button", { type: "button", class: "btn", text: "Try again" });
      retry.addEventListener("click", function () {
        panel.setAttribute("aria-busy", "true");
        mx.replace(body, [el("p", { class: "loading", text: "Looking for what changed…" })]);
        loadInsights();
      });
      mx.replace(body, [
        el("p", { class: "state-error-text", text: mx.errorText(result, "Insights are unavailable right now.") }),
        el("p", { class: "muted", text: "Your numbers above are complete; insights are optional. Try again in a minute." }),
        retry
      ]);
    });
  }

  // GET .../attribution/feed answers {model, window_days, orders: [...]} (attribution.reads.feed):
  // each order has order_number, created_at, currency, revenue_micros and its credited
  // touches; the first touch names the channel and, when matched, the ad entity. Order money
  // is stored in the workspace's currency (micros), so it is shown in that currency.
  function feedItems(data) {
    return (data && Array.isArray(data.orders)) ? data.orders : [];
  }

  function renderFeed(list, items) {
    var currency = list.getAttribute("data-currency") || "USD";
    if (!items.length) return;
    mx.replace(list, items.slice(0, 8).map(function (o) {
      var touch = (o.touches && o.touches[0]) || null;
      var entity = touch && touch.entity;
      var meta = [touch ? mx.provider(touch.channel) : "—"];
      if (entity && entity.name) meta.push(String(entity.name));
      var number = String(o.order_number || o.order_id || "—").replace(/^#+/, "") || "—";
      var revenue = o.revenue_micros === null || o.revenue_micros === undefined ? null : o.revenue_micros / 1e6;
      var when = el("time", { datetime: o.created_at || "", text: mx.ago(o.created_at) });
      return el("li", {}, [
        el("span", { class: "feed-order", text: "#" + number }), " ",
        el("span", { class: "feed-rev", text: mx.money(revenue, currency) }), " ",
        el("span", { class: "muted feed-meta" }, [meta.join(" · ") + " · ", when])
      ]);
    }));
  }

  function startFeed() {
    var list = document.querySelector("[data-feed-url]");
    if (!list) return;
    var url = list.getAttribute("data-feed-url");
    var busy = false;
    // The first poll waits one interval: first paint already has the latest orders.
    setInterval(function () {
      if (busy || document.visibilityState !== "visible") return;
      busy = true;
      mx.api(url).then(function (result) {
        busy = false;
        if (result.ok) renderFeed(list, feedItems(result.data));
      });
    }, FEED_INTERVAL_MS);
  }

  function afterPaint(fn) {
    requestAnimationFrame(function () { setTimeout(fn, 0); });
  }

  afterPaint(loadInsights);
  startFeed();
})();
