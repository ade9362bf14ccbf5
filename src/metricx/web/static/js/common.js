/* metricx page helpers: CSRF-aware JSON calls and safe DOM building (text only, never HTML). */
(function () {
  "use strict";

  function cookie(name) {
    var parts = document.cookie ? document.cookie.split("; ") : [];
    for (var i = 0; i < parts.length; i++) {
      var eq = parts[i].indexOf("=");
      if (parts[i].slice(0, eq) === name) return decodeURIComponent(parts[i].slice(eq + 1));
    }
    return "";
  }

  function csrf() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return cookie("mx_csrf") || (meta ? meta.content : "");
  }

  // Same-origin JSON request; resolves {ok, status, data}, never throws for HTTP errors.
  function api(url, options) {
    options = options || {};
    var headers = { Accept: "application/json" };
    var method = (options.method || "GET").toUpperCase();
    if (method !== "GET" && method !== "HEAD") headers["X-CSRF-Token"] = csrf();
    var init = { method: method, headers: headers, credentials: "same-origin" };
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(options.body);
    }
    if (options.signal) init.signal = options.signal;
    return fetch(url, init).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: response.ok, status: response.status, data: data };
      });
    }, function () {
      return { ok: false, status: 0, data: null };
    });
  }

  // el("p", {class: "x"}, ["text", child]) — children strings become text nodes.
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (value === null || value === undefined || value === false) return;
      if (key === "text") node.textContent = String(value);
      else node.setAttribute(key, value === true ? "" : String(value));
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  var SYMBOLS = { USD: "$", EUR: "€", GBP: "£", JPY: "¥", AUD: "A$", CAD: "CA$", CHF: "CHF ", SEK: "kr " };
  function money(value, currency) {
    if (value === null || value === undefined || value === "" || isNaN(Number(value))) return "—";
    var n = Number(value);
    var digits = currency === "JPY" || currency === "KRW" ? 0 : 2;
    var text = Math.abs(n).toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
    return (n < 0 ? "-" : "") + (SYMBOLS[currency] || (currency || "") + " ") + text;
  }

  // The same names as metricx.web.format.provider, so polled rows read like rendered ones.
  var PROVIDERS = {
    meta: "Meta", google: "Google Ads", tiktok: "TikTok", shopify: "Shopify", csv: "CSV import",
    direct: "Direct", organic: "Organic", email: "Email"
  };
  function provider(key) {
    key = String(key || "");
    if (PROVIDERS[key]) return PROVIDERS[key];
    if (!key) return "—";
    return key.split("_").map(function (w) { return w.charAt(0).toUpperCase() + w.slice(1).toLowerCase(); }).join(" ");
  }

  // "4 min ago", as metricx.web.format.ago says it.
  function ago(iso) {
    if (!iso) return "never";
    var seconds = (Date.now() - new Date(iso).getTime()) / 1000;
    if (isNaN(seconds)) return "—";
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    var days = Math.floor(seconds / 86400);
    return days + (days === 1 ? " day ago" : " days ago");
  }

  function errorText(result, fallback) {
    if (result.status === 0) return "You seem to be offline. Check your connection and try again.";
    if (result.status === 401) return "Your session has ended. Sign in again.";
    if (result.status === 403) return "You don't have permission to do that in this workspace.";
    if (result.data && result.data.detail) return String(result.data.detail);
    return fallback;
  }

  function replace(container, nodes) {
    while (container.firstChild) container.removeChild(container.firstChild);
    nodes.forEach(function (n) { container.appendChild(n); });
  }

  // Arrow keys move between the timeframe presets (they stay links, so Tab and Enter work too).
  document.querySelectorAll(".picker-presets").forEach(function (nav) {
    nav.addEventListener("keydown", function (event) {
      var keys = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 };
      if (!(event.key in keys) && event.key !== "Home" && event.key !== "End") return;
      var links = Array.prototype.slice.call(nav.querySelectorAll("a"));
      var index = links.indexOf(document.activeElement);
      if (index === -1) return;
      var next = event.key === "Home" ? 0 : event.key === "End" ? links.length - 1
        : (index + keys[event.key] + links.length) % links.length;
      links[next].focus();
      event.preventDefault();
    });
  });

  window.mx = {
    api: api, csrf: csrf, el: el, money: money, errorText: errorText, replace: replace,
    provider: provider, ago: ago
  };
})();
