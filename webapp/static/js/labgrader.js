// labgrader pages: CSRF on htmx requests, "checking..." feedback, countdowns, copy and reveal controls.
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

  setInterval(() => {
    document.querySelectorAll('[data-countdown]').forEach((el) => {
      const left = Math.max(0, parseInt(el.dataset.countdown, 10) - 1);
      el.dataset.countdown = String(left);
      el.textContent = String(left);
    });
  }, 1000);

  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.classList.contains('lg-copy')) {
      const value = button.parentElement.querySelector('.lg-value');
      try { await navigator.clipboard.writeText(value.textContent); button.textContent = 'Copied'; }
      catch (e) { button.textContent = 'Copy failed'; }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    } else if (button.classList.contains('lg-reveal') && button.dataset.url) {
      const response = await fetch(button.dataset.url, {
        method: 'POST', credentials: 'same-origin', headers: {'X-CSRFToken': csrf()},
      });
      const mask = button.parentElement.querySelector('.lg-mask');
      if (response.ok && mask) {
        mask.textContent = await response.text();
        mask.removeAttribute('aria-label');
        mask.setAttribute('tabindex', '-1');
        button.remove();
        mask.focus();
      } else {
        button.textContent = 'Could not show it';
      }
    }
  });
})();
