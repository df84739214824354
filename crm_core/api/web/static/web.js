// crm-hub customer 360: tell the server the reader's time zone (a `tz` cookie), once.
(function () {
  "use strict";
  var tz = "UTC";
  try {
    tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  } catch (e) { /* old browser: stay on UTC */ }
  var found = document.cookie.match(/(?:^|;\s*)tz=([^;]*)/);
  var had = found ? found[1] : null;
  if (had === tz) return;
  if (!/^[A-Za-z0-9_+\/-]{1,64}$/.test(tz)) return; // IANA names need no escaping
  document.cookie = "tz=" + tz + "; path=/; max-age=31536000; samesite=strict";
  // Re-render in the reader's zone once, only for a page fetched with GET (never re-post a form).
  var shown = document.body.getAttribute("data-tz");
  var isGet = !document.querySelector("#notice");
  if (shown !== tz && isGet && document.cookie.indexOf("tz=") !== -1) location.reload();
})();
// The concession form: show the amount and currency, or the percentage, as the kind says.
(function () {
  "use strict";
  var kind = document.getElementById("c-kind");
  if (!kind) return;
  function show() {
    var parts = kind.form.querySelectorAll("[data-kind]");
    for (var i = 0; i < parts.length; i++) {
      parts[i].hidden = parts[i].getAttribute("data-kind") !== kind.value;
    }
  }
  kind.addEventListener("change", show);
  show();
})();
