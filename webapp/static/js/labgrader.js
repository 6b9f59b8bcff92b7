// labgrader pages: CSRF on htmx requests, "checking..." feedback, countdowns, the live grid's pauses.
(function () {
  'use strict';
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || '';

  document.addEventListener('htmx:configRequest', (event) => {
    event.detail.headers['X-CSRFToken'] = csrf();
  });

  const badgeOf = (event) => {
    const target = event.detail.target;
    return target && target.classList && target.classList.contains('lg-badge') ? target : null;
  };

  // Show progress at once. A recheck started from inside the badge only marks it busy, so the element
  // that issued the request stays in place until the answer replaces it.
  document.addEventListener('htmx:beforeRequest', (event) => {
    const badge = badgeOf(event);
    if (!badge) return;
    badge.setAttribute('aria-busy', 'true');
    if (!badge.contains(event.detail.elt)) {
      badge.innerHTML = '<p class="lg-result lg-checking" data-testid="checking">Checking your Azure resources\u2026</p>';
    }
  });

  document.addEventListener('htmx:afterRequest', (event) => {
    const badge = badgeOf(event);
    if (badge) badge.removeAttribute('aria-busy');
  });

  const unreachable = (event) => {
    const badge = badgeOf(event);
    if (!badge) return;
    badge.removeAttribute('aria-busy');
    badge.innerHTML = '<p class="lg-result lg-error" data-testid="result" data-status="UNREACHABLE">' +
      'labgrader could not be reached, so nothing was checked. Your work is fine: check your network ' +
      'connection and press Validate again.</p>';
  };
  document.addEventListener('htmx:sendError', unreachable);
  document.addEventListener('htmx:timeout', unreachable);

  // The proctor's live grid keeps its last good update when a refresh fails (a 5xx, a 401, no network):
  // a note says so, and the polling goes on, so the grid recovers by itself.
  const isLive = (event) => !!(event.detail.elt && event.detail.elt.id === 'lg-live');
  const liveNote = (text) => {
    const note = document.getElementById('lg-live-note');
    if (!note) return;
    note.textContent = text;
    note.hidden = !text;
  };
  document.addEventListener('htmx:beforeSwap', (event) => {
    if (!isLive(event)) return;
    const status = event.detail.xhr.status;
    if (status >= 200 && status < 300) { liveNote(''); return; }
    event.detail.shouldSwap = false;
    liveNote(status === 401
      ? 'Live updates paused: your sign-in has ended. Reload the page to sign in again.'
      : 'Live updates paused: the grid could not be refreshed, so it shows the last good update. Retrying\u2026');
  });
  const liveUnreachable = (event) => {
    if (isLive(event)) liveNote('Live updates paused: labgrader could not be reached. Retrying\u2026');
  };
  document.addEventListener('htmx:sendError', liveUnreachable);
  document.addEventListener('htmx:timeout', liveUnreachable);

  setInterval(() => {
    document.querySelectorAll('[data-countdown]').forEach((el) => {
      const left = Math.max(0, parseInt(el.dataset.countdown, 10) - 1);
      el.dataset.countdown = String(left);
      el.textContent = String(left);
    });
  }, 1000);
  // The guide's Copy and Show controls live in labguide's script (/lab/guide.js), served with the guide.
})();
