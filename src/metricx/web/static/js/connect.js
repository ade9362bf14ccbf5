/* Settings: OAuth connect buttons, and the account picker the provider's callback leads to. */
(function () {
  "use strict";
  var mx = window.mx;
  var el = mx.el;
  var box = document.querySelector("[data-oauth]");
  if (!box) return;
  var url = box.getAttribute("data-url");
  var status = box.querySelector("[data-oauth-status]");
  var picker = box.querySelector("[data-oauth-picker]");

  box.querySelectorAll("[data-oauth-start]").forEach(function (button) {
    button.addEventListener("click", function () {
      var provider = button.getAttribute("data-oauth-start");
      var body = {};
      if (provider === "shopify") body.shop_domain = box.querySelector("[name=shop_domain]").value.trim();
      button.disabled = true;
      status.textContent = "Opening the sign-in page…";
      mx.api(url + "/" + provider + "/start", { method: "POST", body: body }).then(function (r) {
        if (r.ok && r.data && r.data.authorize_url) { location.assign(r.data.authorize_url); return; }
        button.disabled = false;
        status.textContent = mx.errorText(r, "Could not start connecting.");
      });
    });
  });

  var params = new URLSearchParams(location.search);
  var grant = params.get("oauth");
  var denied = params.get("oauth_error");
  if (!grant && !denied) return;
  // The grant stays in memory only: out of the address bar, history and reloads.
  params.delete("oauth");
  params.delete("oauth_error");
  var rest = params.toString();
  history.replaceState(null, "", location.pathname + (rest ? "?" + rest : "") + location.hash);
  if (!grant) {
    status.textContent = "Connecting was cancelled at the provider; nothing was connected.";
    return;
  }
  mx.replace(picker, [el("p", { class: "loading", text: "Loading the accounts you can connect…" })]);

  function fail(result, fallback) {
    mx.replace(picker, [el("p", { class: "state-error-text", text: mx.errorText(result, fallback) })]);
  }

  mx.api(url + "/accounts?grant=" + encodeURIComponent(grant)).then(function (r) {
    if (!r.ok) return fail(r, "Could not list the accounts; connect again.");
    var accounts = (r.data && r.data.accounts) || [];
    if (!accounts.length) {
      mx.replace(picker, [el("p", { class: "muted", text: "This sign-in can see no accounts to connect." })]);
      return;
    }
    var items = accounts.map(function (a) {
      var input = el("input", { type: "checkbox", value: a.id, "data-account": true });
      var detail = [a.id, a.currency, a.timezone, a.connected ? "already connected" : ""].filter(Boolean).join(" · ");
      return el("li", {}, [el("label", {}, [input, " ", el("strong", { text: a.name || a.id }), " ",
        el("span", { class: "muted small", text: detail })])]);
    });
    var submit = el("button", { type: "button", class: "btn btn-primary", text: "Connect selected" });
    var note = el("span", { class: "form-status", role: "status" });
    submit.addEventListener("click", function () {
      var ids = Array.prototype.filter.call(picker.querySelectorAll("[data-account]"), function (i) {
        return i.checked;
      }).map(function (i) { return i.value; });
      if (!ids.length) { note.textContent = "Pick at least one account."; return; }
      submit.disabled = true;
      note.textContent = "Connecting…";
      mx.api(url + "/accounts", { method: "POST", body: { grant: grant, account_ids: ids } }).then(function (res) {
        submit.disabled = false;
        if (!res.ok) { note.textContent = mx.errorText(res, "Could not connect those accounts."); return; }
        var n = (res.data || []).length;
        mx.replace(picker, [el("p", { role: "status", text: "Connected " + n + " account" + (n === 1 ? "" : "s") + "; the first sync is queued." })]);
        document.dispatchEvent(new CustomEvent("mx:connections-changed"));
      });
    });
    mx.replace(picker, [el("h3", { text: "Pick the accounts to connect" }), el("ul", { class: "oauth-accounts" }, items),
      el("div", { class: "form-actions" }, [submit, " ", note])]);
  });
})();
