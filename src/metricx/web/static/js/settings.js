/* Settings: JSON forms, connections with "sync now", members and invites, copy the pixel. */
(function () {
  "use strict";
  var mx = window.mx;
  var el = mx.el;
  var root = document.querySelector("[data-settings]");
  if (!root) return;
  var canWrite = root.getAttribute("data-can-write") === "true";
  function list(data, key) {
    return Array.isArray(data) ? data : (data && (data[key] || data.items)) || [];
  }

  function failed(container, result, what, retry) {
    var button = el("button", { type: "button", class: "btn", text: "Try again" });
    button.addEventListener("click", retry);
    mx.replace(container, [
      el("p", { class: "state-error-text", text: mx.errorText(result, "Could not load " + what + ".") }),
      el("p", { class: "muted", text: "Reload the page or try again in a minute." }), button
    ]);
  }

  function loadConnections() {
    var box = root.querySelector("[data-connections]");
    var url = box.getAttribute("data-url");
    mx.api(url).then(function (result) {
      if (!result.ok) return failed(box, result, "connections", loadConnections);
      var items = list(result.data, "connections");
      if (!items.length) {
        mx.replace(box, [el("p", { class: "muted", text: "No connections yet. Connect Meta, Google Ads, TikTok or Shopify to start syncing (metricx connections add on the command line)." })]);
        return;
      }
      mx.replace(box, [el("ul", { class: "conn-list" }, items.map(function (c) {
        var status = String(c.status || "unknown");
        var note = el("span", { class: "muted small", role: "status" });
        var button = canWrite ? el("button", { type: "button", class: "btn", text: "Sync now" }) : null;
        if (button) {
          button.addEventListener("click", function () {
            button.disabled = true;
            note.textContent = "Queuing…";
            mx.api(url + "/" + encodeURIComponent(c.id) + "/sync", { method: "POST", body: {} }).then(function (r) {
              button.disabled = false;
              note.textContent = r.ok ? "Sync queued." : mx.errorText(r, "Could not start a sync.");
            });
          });
        }
        return el("li", { class: "conn-item" }, [
          el("span", { class: "conn-name" }, [el("strong", { text: c.name || mx.provider(c.provider) }), " ",
            el("span", { class: "muted small", text: mx.provider(c.provider) || "" })]),
          el("span", { class: "badge badge-" + status.replace(/[^a-z_]/g, ""), text: status.replace(/_/g, " ") }),
          el("span", { class: "muted small", text: "Last success " + mx.ago(c.last_success_at) + (c.last_error ? " · " + c.last_error : "") }),
          button, note
        ]);
      }))]);
    });
  }

  function loadMembers() {
    var box = root.querySelector("[data-members]");
    Promise.all([mx.api(box.getAttribute("data-url")), mx.api(box.getAttribute("data-invites-url"))]).then(function (results) {
      var members = results[0], invites = results[1];
      if (!members.ok) return failed(box, members, "members", loadMembers);
      var rows = list(members.data, "members").map(function (m) {
        return el("tr", {}, [el("td", { text: m.name || m.email || "" }), el("td", { text: m.email || "" }), el("td", { text: m.role || "" })]);
      });
      list(invites.ok ? invites.data : [], "invites").forEach(function (i) {
        rows.push(el("tr", { class: "muted" }, [el("td", { text: "Invited" }), el("td", { text: i.email || "" }), el("td", { text: (i.role || "") + " (pending)" })]));
      });
      mx.replace(box, [el("div", { class: "table-wrap" }, [el("table", {}, [
        el("thead", {}, [el("tr", {}, [el("th", { scope: "col", text: "Name" }), el("th", { scope: "col", text: "Email" }), el("th", { scope: "col", text: "Role" })])]),
        el("tbody", {}, rows)
      ])])]);
    });
  }

  root.querySelectorAll("[data-json-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = form.querySelector("[data-form-status]");
      var body = {};
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!field.name || field.name === "csrf_token" || field.disabled) return;
        body[field.name] = field.getAttribute("data-type") === "int" ? parseInt(field.value, 10) : field.value;
      });
      status.textContent = "Saving…";
      mx.api(form.getAttribute("data-url"), { method: form.getAttribute("data-method") || "POST", body: body }).then(function (r) {
        status.textContent = r.ok ? "Saved." : mx.errorText(r, "Could not save. Check the fields and try again.");
        if (r.ok && r.data && r.data.accept_path) {
          status.textContent = "Invite created. Share this link: " + location.origin + r.data.accept_path;
        }
        if (r.ok && form.getAttribute("data-reload") === "members") { form.reset(); loadMembers(); }
      });
    });
  });

  root.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var text = document.getElementById(button.getAttribute("data-copy")).textContent;
      var done = function () { button.textContent = "Copied"; setTimeout(function () { button.textContent = "Copy"; }, 1500); };
      if (navigator.clipboard) navigator.clipboard.writeText(text).then(done, function () { button.textContent = "Select and copy"; });
    });
  });

  document.addEventListener("mx:connections-changed", loadConnections);
  loadConnections();
  loadMembers();
})();
