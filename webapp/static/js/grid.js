// The proctor's live grid is replaced every few seconds (htmx outerHTML). A proctor who scrolled the grid
// sideways (a phone, a long lab) or moved focus into its frame keeps both across the refresh.
(function () {
  'use strict';
  const FRAME = 'lg-grid-frame';
  let kept = null;
  const isLive = (event) => !!(event.detail.elt && event.detail.elt.id === 'lg-live');

  document.addEventListener('htmx:beforeSwap', (event) => {
    if (!isLive(event)) return;
    const frame = document.getElementById(FRAME);
    kept = frame ? {left: frame.scrollLeft, focused: document.activeElement === frame} : null;
  });
  document.addEventListener('htmx:afterSettle', (event) => {
    if (!kept) return;
    const frame = document.getElementById(FRAME);
    if (frame) {
      frame.scrollLeft = kept.left;
      if (kept.focused && document.activeElement !== frame) frame.focus({preventScroll: true});
    }
    kept = null;
  });
})();
