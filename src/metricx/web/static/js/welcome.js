/* Prefill the new workspace's timezone from the browser. */
(function () {
  "use strict";
  var input = document.querySelector("[data-detect-timezone]");
  if (!input || input.value !== "UTC") return;
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (tz) input.value = tz;
  } catch (e) { /* keep UTC */ }
})();
