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

  function feedItems(data) {
    return Array.isArray(data) ? data : (data && (data.items || data.orders)) || [];
  }

  function orderRevenue(o) {
    if (o.revenue !== undefined && o.revenue !== null) return o.revenue;
    if (o.revenue_micros !== undefined && o.revenue_micros !== null) return o.revenue_micros / 1e6;
    return null;
  }

  function renderFeed(list, items) {
    var currency = list.getAttribute("data-currency") || "USD";
    if (!items.length) return;
    mx.replace(list, items.slice(0, 8).map(function (o) {
      var touch = (o.touches && o.touches[0]) || {};
      var channel = o.channel || o.provider || touch.channel || "";
      var campaign = o.campaign_name || (touch.entity && touch.entity.name) || "";
      var extra = [channel, campaign].filter(Boolean).join(" · ");
      return el("li", {}, [
        el("span", { class: "feed-order", text: "#" + (o.order_number || o.order_id || "—") }), " ",
        el("span", { class: "feed-rev", text: mx.money(orderRevenue(o), o.currency || currency) }), " ",
        el("span", { class: "muted", text: extra })
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
