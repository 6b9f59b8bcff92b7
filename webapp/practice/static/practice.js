// The demo's practice boxes: while a task runs, its outcome area says so, and only so. The previous
// outcome ("Created ... Now press Validate") must not linger beside a request that may change it.
(function () {
  'use strict';
  const outcomeOf = (event) => {
    const target = event.detail.target;
    return target && target.classList && target.classList.contains('lg-practice-outcome') ? target : null;
  };
  const say = (box, html) => { box.innerHTML = html; };

  document.addEventListener('htmx:beforeRequest', (event) => {
    const box = outcomeOf(event);
    if (!box) return;
    box.setAttribute('aria-busy', 'true');
    say(box, '<p class="lg-result lg-checking lg-practice-busy" data-testid="practice-working">Working on it\u2026 ' +
      'uploads take a few seconds, a training a little longer.</p>');
  });
  document.addEventListener('htmx:afterRequest', (event) => {
    const box = outcomeOf(event);
    if (box) box.removeAttribute('aria-busy');
  });
  const unreachable = (event) => {
    const box = outcomeOf(event);
    if (!box) return;
    box.removeAttribute('aria-busy');
    say(box, '<div class="lg-result lg-error" data-testid="practice-result" data-outcome="error">' +
      '<p class="lg-message">labgrader could not be reached, so nothing was done. Check that labgrader demo ' +
      'is still running, then press Do it again.</p></div>');
  };
  document.addEventListener('htmx:sendError', unreachable);
  document.addEventListener('htmx:timeout', unreachable);
})();
