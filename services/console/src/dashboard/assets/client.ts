/**
 * The dashboard's one script, served from /assets/dashboard.js (the CSP allows no inline script). It
 * only makes pages live: an element with `data-live` opens that Server-Sent Events URL and each `html`
 * message (a fragment the server rendered and escaped) replaces the element's content; `<details>`
 * left open stay open. Relative times (`data-ago`) are kept current. Without it every page still works
 * and a reload shows the latest.
 */
export const DASHBOARD_JS = `'use strict';
(function () {
  var SECOND = 1000, MINUTE = 60 * SECOND, HOUR = 60 * MINUTE, DAY = 24 * HOUR;
  function span(ms) {
    var a = Math.abs(ms);
    if (a < SECOND) return Math.round(a) + ' ms';
    if (a < 90 * SECOND) return Math.round(a / SECOND) + ' s';
    if (a < 90 * MINUTE) return Math.round(a / MINUTE) + ' min';
    if (a < 36 * HOUR) return Math.round(a / HOUR) + ' h';
    return Math.round(a / DAY) + ' d';
  }
  function refreshAges(root) {
    var now = Date.now();
    root.querySelectorAll('time[data-ago]').forEach(function (el) {
      var t = Date.parse(el.getAttribute('datetime'));
      if (!isNaN(t)) el.textContent = span(now - t) + ' ago';
    });
  }
  setInterval(function () { refreshAges(document); }, 10 * SECOND);

  var target = document.querySelector('[data-live]');
  if (!target || typeof EventSource === 'undefined') return;
  var badge = document.getElementById('live');
  function state(text, cls) {
    if (!badge) return;
    badge.hidden = false;
    badge.textContent = text;
    badge.className = 'live ' + cls;
  }
  var source = new EventSource(target.getAttribute('data-live'));
  source.onopen = function () { state('live', 'on'); };
  source.onerror = function () { state('reconnecting…', 'off'); };
  source.addEventListener('html', function (e) {
    var open = [];
    target.querySelectorAll('details[open][id]').forEach(function (d) { open.push(d.id); });
    target.innerHTML = e.data;
    open.forEach(function (id) {
      var d = document.getElementById(id);
      if (d && d.tagName === 'DETAILS') d.open = true;
    });
    target.setAttribute('data-updated', String(Date.now()));
    state('live', 'on');
  });
  window.addEventListener('pagehide', function () { source.close(); });
})();
`;
