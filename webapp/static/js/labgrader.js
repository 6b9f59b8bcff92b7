// labgrader pages: CSRF on htmx requests, "checking..." feedback that keeps the last result, focus that stays
// on the pressed button, countdowns, a refused press's held Validate button, local times, the live grid's pauses,
// rechecks that wait while their tab is hidden.
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
  const isRecheck = (elt) => !!(elt && elt.classList && elt.classList.contains('lg-recheck'));

  // A Validate button held after a refused press (aria-disabled, so it keeps the keyboard focus) sends
  // nothing until its countdown ends.
  document.addEventListener('htmx:confirm', (event) => {
    if (event.detail.elt.getAttribute('aria-disabled') === 'true') event.preventDefault();
  });

  // A PENDING step's automatic recheck waits while its tab is hidden (another tab, a minimised window):
  // nobody is there to read it, and each one calls Azure. Its request is held, and sent as soon as the tab
  // is shown again (its delay has passed by then), so the badge catches up on return.
  const held = [];
  document.addEventListener('htmx:confirm', (event) => {
    if (!document.hidden || !isRecheck(event.detail.elt)) return;
    event.preventDefault();
    held.push({elt: event.detail.elt, send: event.detail.issueRequest});
  });
  document.addEventListener('visibilitychange', () => {
    if (document.hidden) return;
    held.splice(0).forEach(({elt, send}) => { if (elt.isConnected) send(true); });
  });

  // Show progress at once, above the last result, which stays until the answer replaces it (a refused press
  // does not: its notice goes in above it instead). A recheck started from inside the badge only marks it busy,
  // so the element that issued the request stays in place until the answer replaces it.
  const hold = (badge) => {
    badge.insertAdjacentHTML('afterbegin',
      '<p class="lg-result lg-checking" data-testid="checking">Checking your Azure resources\u2026</p>');
  };
  const release = (badge) => {
    badge.querySelectorAll(':scope > .lg-checking').forEach((el) => el.remove());
  };

  // Focus: hx-disabled-elt disables the pressed button while its request runs, and the browser then drops
  // focus to the page. Put it back on the element that had it, unless the person has moved on meanwhile.
  const focusOf = new WeakMap();
  document.addEventListener('htmx:beforeRequest', (event) => {
    const elt = event.detail.elt;
    const active = document.activeElement;
    if (active && active !== document.body && (active === elt || elt.contains(active))) focusOf.set(elt, active);
    const badge = badgeOf(event);
    if (!badge) return;
    badge.setAttribute('aria-busy', 'true');
    if (!badge.contains(elt)) hold(badge);
  });

  document.addEventListener('htmx:afterRequest', (event) => {
    const elt = event.detail.elt;
    const badge = badgeOf(event);
    if (badge) { badge.removeAttribute('aria-busy'); release(badge); }
    const had = focusOf.get(elt);
    focusOf.delete(elt);
    const now = document.activeElement;
    if (had && had.isConnected && (!now || now === document.body || now === had)) had.focus({preventScroll: true});
    arm();
  });

  // A recheck that finds what the badge already says (still PENDING) is not read out again every few seconds,
  // and a refused press's notice stays through it until its countdown ends.
  const kept = new WeakMap();
  document.addEventListener('htmx:beforeSwap', (event) => {
    const badge = badgeOf(event);
    if (!badge || !isRecheck(event.detail.elt)) return;
    const notice = badge.querySelector(':scope > .lg-notice');
    if (notice) kept.set(badge, notice);
    const shown = badge.querySelector('[data-testid="result"]');
    const found = /data-status="([A-Z_]+)"/.exec(event.detail.serverResponse || '');
    if (shown && found && shown.dataset.status === found[1]) {
      badge.setAttribute('aria-live', 'off');
      setTimeout(() => badge.setAttribute('aria-live', 'polite'), 1000);
    }
  });

  document.addEventListener('htmx:afterSwap', (event) => {
    const badge = badgeOf(event);
    const notice = badge && kept.get(badge);
    if (!notice) return;
    kept.delete(badge);
    if (!notice.isConnected) badge.prepend(notice);
  });

  const unreachable = (event) => {
    const badge = badgeOf(event);
    if (!badge) return;
    badge.removeAttribute('aria-busy');
    release(badge);
    badge.querySelectorAll(':scope > .lg-unreachable').forEach((el) => el.remove());
    badge.insertAdjacentHTML('afterbegin', '<p class="lg-result lg-error lg-unreachable" data-testid="unreachable">' +
      'labgrader could not be reached, so nothing was checked. Your work is fine: check your network ' +
      'connection and press Validate again.</p>');
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

  // New content: countdowns start, a refused press holds its step's Validate button, times turn local.
  const seconds = (n) => n + (n === 1 ? ' second' : ' seconds');
  const arm = () => {
    const now = Date.now();
    document.querySelectorAll('[data-countdown]:not([data-deadline])').forEach((el) => {
      el.dataset.deadline = String(now + 1000 * parseInt(el.dataset.countdown, 10));
    });
    document.querySelectorAll('.lg-notice[data-wait]:not([data-deadline])').forEach((notice) => {
      const until = now + 1000 * parseInt(notice.dataset.wait, 10);
      notice.dataset.deadline = String(until);
      document.querySelectorAll('.lg-validate[data-step]').forEach((button) => {
        if (button.dataset.step !== notice.dataset.step) return;
        button.setAttribute('aria-disabled', 'true');
        button.dataset.heldUntil = String(Math.max(until, parseInt(button.dataset.heldUntil || '0', 10)));
      });
    });
    document.querySelectorAll('time[data-local]:not([data-utc])').forEach((el) => {
      const when = new Date(el.getAttribute('datetime'));
      if (isNaN(when.getTime())) return;
      el.dataset.utc = el.textContent;  // the server's wording, kept for reference
      el.textContent = when.toDateString() === new Date().toDateString()
        ? when.toLocaleTimeString()
        : when.toLocaleString([], {dateStyle: 'medium', timeStyle: 'medium'});
    });
  };
  const tick = () => {
    const now = Date.now();
    document.querySelectorAll('[data-countdown][data-deadline]').forEach((el) => {
      const left = Math.max(0, Math.ceil((parseInt(el.dataset.deadline, 10) - now) / 1000));
      el.textContent = left > 0 ? seconds(left) : 'a moment';
    });
    document.querySelectorAll('.lg-validate[data-held-until]').forEach((button) => {
      if (now < parseInt(button.dataset.heldUntil, 10)) return;
      button.removeAttribute('aria-disabled');
      delete button.dataset.heldUntil;
    });
    document.querySelectorAll('.lg-notice[data-deadline]').forEach((notice) => {
      if (now >= parseInt(notice.dataset.deadline, 10)) notice.remove();
    });
  };
  document.addEventListener('htmx:afterSettle', arm);
  document.addEventListener('htmx:oobAfterSwap', arm);
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', arm); else arm();
  setInterval(tick, 250);
  // The guide's Copy and Show controls live in labguide's script (/lab/guide.js), served with the guide.
})();
