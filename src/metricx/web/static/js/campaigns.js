/* Campaigns table: sort by any column with buttons that keep aria-sort in step. */
(function () {
  "use strict";
  var table = document.querySelector("[data-sortable]");
  if (!table) return;
  var tbody = table.tBodies[0];
  var headers = table.querySelectorAll("th[aria-sort]");

  function value(row, key, type) {
    var raw = row.getAttribute("data-" + key) || "";
    if (type === "num") return raw === "" ? null : Number(raw);
    return raw.toLowerCase();
  }

  function sortBy(button) {
    var th = button.closest("th");
    var key = button.getAttribute("data-sort-key");
    var type = button.getAttribute("data-sort-type");
    var current = th.getAttribute("aria-sort");
    var dir = current === "descending" ? "ascending" : current === "ascending" ? "descending"
      : (type === "num" ? "descending" : "ascending");
    var sign = dir === "ascending" ? 1 : -1;
    var rows = Array.prototype.slice.call(tbody.rows);
    rows.sort(function (a, b) {
      var x = value(a, key, type), y = value(b, key, type);
      if (x === y) return 0;
      if (x === null) return 1;  // missing values last in both directions
      if (y === null) return -1;
      return (x < y ? -1 : 1) * sign;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
    headers.forEach(function (h) { h.setAttribute("aria-sort", "none"); });
    th.setAttribute("aria-sort", dir);
  }

  table.querySelectorAll("button[data-sort-key]").forEach(function (button) {
    button.addEventListener("click", function () { sortBy(button); });
  });
})();
