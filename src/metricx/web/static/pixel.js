/*! metricx pixel: first-party, dependency-free.
 *  <script src="https://HOST/pixel.js" data-key="px_..." async></script>
 *  Calls made before the script loads are queued by this stub and replayed:
 *    window.metricx = window.metricx || function () { (metricx.q = metricx.q || []).push(arguments); };
 *    metricx('track', 'product_viewed', { product_id: '123' });
 *    metricx('track', 'checkout_completed', { checkout_token: '...' });
 *  Consent: window.metricxConsent = false or data-consent="false" -> no cookie, nothing sent;
 *  metricx('consent', true) grants it later. Optional data-endpoint overrides the API host.
 */
(function (w, d) {
  "use strict";
  var script = d.currentScript || d.querySelector("script[data-key][src*='pixel.js']");
  if (!script || w.__metricxLoaded) return;
  w.__metricxLoaded = true;
  var KEY = script.getAttribute("data-key");
  var ENDPOINT = (script.getAttribute("data-endpoint") || script.src.replace(/\/pixel\.js.*$/, "")) + "/api/pixel/events";
  var COOKIE = "mx_vid";
  var MAX_BATCH = 20;
  var FLUSH_MS = 1000;
  var queue = [];
  var timer = null;
  var PARAMS = ["utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term", "fbclid", "gclid", "ttclid"];

  function consented() {
    if (w.metricxConsent === false) return false;
    var attr = script.getAttribute("data-consent");
    return !(attr === "false" || attr === "denied" || attr === "0");
  }

  function uuid() {
    if (w.crypto && typeof w.crypto.randomUUID === "function") return w.crypto.randomUUID();
    var bytes = new Uint8Array(16);
    if (w.crypto && w.crypto.getRandomValues) w.crypto.getRandomValues(bytes);
    else for (var i = 0; i < 16; i++) bytes[i] = Math.floor(Math.random() * 256);
    bytes[6] = (bytes[6] & 15) | 64;
    bytes[8] = (bytes[8] & 63) | 128;
    var hex = "";
    for (var j = 0; j < 16; j++) hex += (bytes[j] + 256).toString(16).slice(1);
    return hex.slice(0, 8) + "-" + hex.slice(8, 12) + "-" + hex.slice(12, 16) + "-" + hex.slice(16, 20) + "-" + hex.slice(20);
  }

  function readCookie(name) {
    var m = d.cookie.match(new RegExp("(?:^|; )" + name + "=([^;]*)"));
    return m ? decodeURIComponent(m[1]) : null;
  }

  function visitorId() {
    var id = readCookie(COOKIE);
    if (!id) {
      id = uuid();
      var secure = location.protocol === "https:" ? "; Secure" : "";
      d.cookie = COOKIE + "=" + encodeURIComponent(id) + "; Max-Age=31536000; Path=/; SameSite=Lax" + secure;
    }
    return id;
  }

  function attribution() {
    var out = {};
    try {
      var q = new URLSearchParams(location.search);
      for (var i = 0; i < PARAMS.length; i++) {
        var v = q.get(PARAMS[i]);
        if (v) out[PARAMS[i]] = v.slice(0, 255);
      }
    } catch (e) { /* very old browsers: the server parses the url too */ }
    return out;
  }

  function send(batch) {
    // text/plain keeps this a CORS "simple request": no preflight, and sendBeacon works.
    var body = JSON.stringify({ key: KEY, events: batch });
    try {
      if (w.fetch) {
        w.fetch(ENDPOINT, { method: "POST", body: body, keepalive: true, mode: "cors", credentials: "omit",
          headers: { "Content-Type": "text/plain" } })["catch"](function () {});
        return;
      }
    } catch (e) { /* fall through to sendBeacon */ }
    if (navigator.sendBeacon) navigator.sendBeacon(ENDPOINT, body);
  }

  function flush(useBeacon) {
    if (timer) { clearTimeout(timer); timer = null; }
    while (queue.length) {
      var batch = queue.splice(0, MAX_BATCH);
      if (useBeacon && navigator.sendBeacon) {
        navigator.sendBeacon(ENDPOINT, JSON.stringify({ key: KEY, events: batch }));
      } else {
        send(batch);
      }
    }
  }

  function track(name, data) {
    if (!KEY || !consented()) return;
    var event = {
      event_id: uuid(),
      visitor_id: visitorId(),
      name: name,
      ts: Date.now(),
      url: location.href.slice(0, 2048),
      referrer: (d.referrer || "").slice(0, 2048),
      data: data || {}
    };
    if (data && data.checkout_token) event.checkout_token = String(data.checkout_token);
    var utm = attribution();
    for (var k in utm) if (Object.prototype.hasOwnProperty.call(utm, k)) event[k] = utm[k];
    queue.push(event);
    if (queue.length >= MAX_BATCH || name === "checkout_completed") flush(false);
    else if (!timer) timer = setTimeout(function () { flush(false); }, FLUSH_MS);
  }

  function api(command, name, data) {
    if (command === "track") track(name, data);
    else if (command === "consent") { w.metricxConsent = !!name; }
    else if (command === "flush") flush(false);
  }

  var pending = (w.metricx && w.metricx.q) || [];
  w.metricx = api;
  d.addEventListener("visibilitychange", function () { if (d.visibilityState === "hidden") flush(true); });
  w.addEventListener("pagehide", function () { flush(true); });
  track("page_viewed", {});
  for (var i = 0; i < pending.length; i++) api.apply(null, pending[i]);
})(window, document);
