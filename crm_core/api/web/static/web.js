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
// Times and dates in the reader's own locale (en-GB reads 4 Dec 2026, en-US Dec 4, 2026):
// the browser's languages of the page's language first, then the page's language.
(function () {
  "use strict";
  if (!window.Intl || !Intl.DateTimeFormat) return;
  var page = document.documentElement.lang || "en";
  var base = page.split("-")[0].toLowerCase();
  var asked = navigator.languages || [navigator.language || page];
  var locales = [];
  for (var i = 0; i < asked.length; i++) {
    if (asked[i] && asked[i].split("-")[0].toLowerCase() === base) locales.push(asked[i]);
  }
  locales.push(page);
  var moment, day;
  try {
    moment = new Intl.DateTimeFormat(locales, { dateStyle: "medium", timeStyle: "short" });
    day = new Intl.DateTimeFormat(locales, { dateStyle: "medium", timeZone: "UTC" });
  } catch (e) { return; /* dateStyle unknown: keep the server's text */ }
  var times = document.querySelectorAll("time[datetime]");
  for (var j = 0; j < times.length; j++) {
    var el = times[j], iso = el.getAttribute("datetime");
    var isDay = el.hasAttribute("data-day");
    var when = new Date(isDay ? iso + "T00:00:00Z" : iso);
    if (isNaN(when.getTime())) continue;
    el.textContent = (isDay ? day : moment).format(when);
  }
})();
// Sections are collapsible (<details>) and linkable: /ui/customers/G1#orders opens Orders.
(function () {
  "use strict";
  function reveal() {
    var id = decodeURIComponent(location.hash.slice(1));
    var target = id && document.getElementById(id);
    if (!target) return;
    for (var el = target; el; el = el.parentElement) {
      if (el.tagName === "DETAILS") el.open = true;
    }
    target.scrollIntoView();
  }
  window.addEventListener("hashchange", reveal);
  // a link to the section already in the address bar fires no hashchange
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest("a[href^='#']");
    if (link && link.getAttribute("href") === location.hash) setTimeout(reveal, 0);
  });
  reveal();
})();
