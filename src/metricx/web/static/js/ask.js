/* Ask: stream the answer from the questions API (SSE over fetch) with its visual and query. */
(function () {
  "use strict";
  var mx = window.mx;
  var el = mx.el;
  var root = document.querySelector("[data-ask-url]");
  if (!root) return;
  var form = root.querySelector("[data-ask-form]");
  var input = form.querySelector("input[name=q]");
  var answer = document.querySelector("[data-answer]");
  var statusEl = answer.querySelector("[data-answer-status]");
  var textEl = answer.querySelector("[data-answer-text]");
  var visualEl = answer.querySelector("[data-answer-visual]");
  var queryBox = answer.querySelector("[data-answer-query]");
  var queryBody = answer.querySelector("[data-answer-query-body]");
  var controller = null;

  function parse(data) {
    try { return JSON.parse(data); } catch (e) { return data; }
  }

  function num(value) {
    return value && typeof value === "object" ? value.value : value;
  }

  function cellText(value) {
    if (value === null || value === undefined) return "—";
    if (typeof value === "object") {
      return value.formatted !== undefined && value.formatted !== null ? String(value.formatted) : cellText(value.value);
    }
    if (typeof value === "number") return value.toLocaleString("en-US", { maximumFractionDigits: 2 });
    return String(value);
  }

  function table(columns, rows) {
    var names = columns.map(function (c) { return typeof c === "string" ? c : (c.label || c.key); });
    var keys = columns.map(function (c) { return typeof c === "string" ? c : c.key; });
    var head = el("thead", {}, [el("tr", {}, names.map(function (n) { return el("th", { scope: "col", text: n }); }))]);
    var body = el("tbody", {}, rows.map(function (row) {
      return el("tr", {}, keys.map(function (k, i) {
        var v = Array.isArray(row) ? row[i] : row[k];
        return el("td", { class: typeof num(v) === "number" ? "num" : null, text: cellText(v) });
      }));
    }));
    return el("div", { class: "table-wrap" }, [el("table", {}, [head, body])]);
  }

  function bars(labels, values) {
    var NS = "http://www.w3.org/2000/svg";
    var raw = values.map(num);
    var max = Math.max.apply(null, raw.map(function (v) { return Math.abs(Number(v) || 0); }).concat([1]));
    // Drawn at the width it is shown at (1 unit = 1 px), so labels stay legible on a phone.
    var width = Math.max(280, Math.min(720, visualEl.clientWidth || 560));
    var rowH = 26, labelW = Math.round(Math.min(180, width * 0.3));
    var svg = document.createElementNS(NS, "svg");
    svg.setAttribute("viewBox", "0 0 " + width + " " + (labels.length * rowH + 4));
    svg.setAttribute("class", "bars");
    svg.setAttribute("role", "img");
    svg.setAttribute("aria-label", "Bar chart of the answer");
    labels.forEach(function (label, i) {
      var y = i * rowH + 4;
      var t = document.createElementNS(NS, "text");
      t.setAttribute("x", "0"); t.setAttribute("y", String(y + 14)); t.setAttribute("class", "axis");
      var chars = Math.max(8, Math.floor(labelW / 6.5));
      var name = String(label);
      t.textContent = name.length > chars ? name.slice(0, chars - 1) + "…" : name;
      var r = document.createElementNS(NS, "rect");
      var w = Math.max(2, (Math.abs(Number(raw[i]) || 0) / max) * (width - labelW - 70));
      r.setAttribute("x", String(labelW)); r.setAttribute("y", String(y)); r.setAttribute("height", "18");
      r.setAttribute("width", String(w)); r.setAttribute("rx", "3"); r.setAttribute("class", "bar");
      var v = document.createElementNS(NS, "text");
      v.setAttribute("x", String(labelW + w + 6)); v.setAttribute("y", String(y + 14)); v.setAttribute("class", "axis");
      v.textContent = cellText(values[i]);
      svg.appendChild(t); svg.appendChild(r); svg.appendChild(v);
    });
    return svg;
  }

  function kpiItems(items) {
    return el("div", { class: "kpis" }, items.map(function (k) {
      var d = k.delta_pct;
      return el("article", { class: "kpi" }, [
        el("h3", { class: "kpi-label", text: k.label || k.metric || "" }),
        el("p", { class: "kpi-value", text: cellText(k) }),
        d === null || d === undefined ? null : el("p", { class: "kpi-delta muted", text: (d > 0 ? "+" : "") + Number(d).toFixed(1) + "% vs previous period" })
      ]);
    }));
  }

  function renderVisual(v) {
    if (!v || typeof v !== "object") return;
    var nodes = [];
    var labelCol = { key: "label", label: "" };
    if (v.type === "kpi" && Array.isArray(v.items)) {
      nodes.push(kpiItems(v.items));
    } else if (v.type === "bar" && Array.isArray(v.bars) && v.metric) {
      var key = v.metric.key;
      nodes.push(bars(v.bars.slice(0, 20).map(function (b) { return b.label || b.key; }),
        v.bars.slice(0, 20).map(function (b) { return b[key]; })));
      nodes.push(table([labelCol, v.metric], v.bars.slice(0, 100)));
    } else if (v.type === "line" && Array.isArray(v.points)) {
      nodes.push(table([{ key: "date", label: "Date" }].concat(v.series || []), v.points.slice(0, 400)));
    } else if (v.type === "table" && Array.isArray(v.rows) && v.rows.length && !Array.isArray(v.rows[0])) {
      nodes.push(table([labelCol].concat(v.columns || []), v.rows.slice(0, 100)));
    } else {
      var rows = v.rows || v.data || [];
      var columns = v.columns || (rows.length && !Array.isArray(rows[0]) ? Object.keys(rows[0]) : []);
      if (Array.isArray(v.labels) && Array.isArray(v.values)) {
        nodes.push(bars(v.labels, v.values));
      } else if (rows.length && columns.length >= 2 && v.type !== "table") {
        var key0 = typeof columns[0] === "string" ? columns[0] : columns[0].key;
        var key1 = typeof columns[1] === "string" ? columns[1] : columns[1].key;
        var labels = rows.map(function (r) { return Array.isArray(r) ? r[0] : r[key0]; });
        var values = rows.map(function (r) { return Array.isArray(r) ? r[1] : r[key1]; });
        if (values.every(function (x) { return typeof num(x) === "number" || x === null; })) nodes.push(bars(labels.slice(0, 20), values.slice(0, 20)));
      }
      if (rows.length && columns.length) nodes.push(table(columns, rows.slice(0, 100)));
    }
    nodes.forEach(function (n) { visualEl.appendChild(n); });
  }

  function showQuery(q) {
    if (!q) return;
    queryBody.textContent = typeof q === "string" ? q : JSON.stringify(q, null, 2);
    queryBox.hidden = false;
  }

  function handle(event, data) {
    var value = parse(data);
    if (event === "thinking") {
      statusEl.textContent = (value && (value.message || value.text)) || (typeof value === "string" ? value : "Thinking…");
    } else if (event === "token") {
      textEl.textContent += typeof value === "string" ? value : (value.text || value.token || "");
    } else if (event === "visual") {
      renderVisual(value);
    } else if (event === "done") {
      statusEl.textContent = "";
      if (value && value.answer && !textEl.textContent) textEl.textContent = value.answer;
      if (value && typeof value === "object") showQuery(value.query || value.semantic_query);
    } else if (event === "error") {
      statusEl.textContent = "";
      textEl.textContent = "";
      textEl.appendChild(el("p", { class: "state-error-text", role: "alert",
        text: (value && value.detail) || (typeof value === "string" && value) || "The question could not be answered. Rephrase it and try again." }));
    }
  }

  function consume(buffer) {
    var blocks = buffer.split(/\r?\n\r?\n/);
    var rest = blocks.pop();
    blocks.forEach(function (block) {
      var event = "message", data = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.indexOf("event:") === 0) event = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) data.push(line.slice(5).replace(/^ /, ""));
      });
      if (data.length || event !== "message") handle(event, data.join("\n"));
    });
    return rest;
  }

  function ask(question) {
    if (controller) controller.abort();
    controller = new AbortController();
    answer.hidden = false;
    textEl.textContent = "";
    mx.replace(visualEl, []);
    queryBox.hidden = true;
    statusEl.textContent = "Thinking…";
    fetch(root.getAttribute("data-ask-url"), {
      method: "POST", credentials: "same-origin", signal: controller.signal,
      headers: { Accept: "text/event-stream", "Content-Type": "application/json", "X-CSRF-Token": mx.csrf() },
      body: JSON.stringify({ question: question })
    }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) {
          var data = null;
          try { data = JSON.parse(text); } catch (e) { data = null; }
          handle("error", JSON.stringify({ detail: mx.errorText({ status: response.status, data: data }, "The question could not be answered right now. Try again in a minute.") }));
        });
      }
      var contentType = response.headers.get("content-type") || "";
      if (contentType.indexOf("text/event-stream") === -1 || !response.body) {
        return response.json().then(function (data) {
          if (data.answer) textEl.textContent = data.answer;
          renderVisual(data.visual);
          showQuery(data.query);
          statusEl.textContent = "";
        });
      }
      var reader = response.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { consume(buffer + "\n\n"); return; }
          buffer = consume(buffer + decoder.decode(chunk.value, { stream: true }));
          return pump();
        });
      }
      return pump();
    }).catch(function (err) {
      if (err && err.name === "AbortError") return;
      handle("error", JSON.stringify({ detail: "You seem to be offline. Check your connection and try again." }));
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = input.value.trim();
    if (!q) return;
    history.replaceState(null, "", "?q=" + encodeURIComponent(q));
    ask(q);
  });

  if (input.value.trim()) ask(input.value.trim());
})();
