"""Render a guide to sanitised HTML: inject values, copy and reveal controls, Validate buttons, images.

Order matters for safety. Dialect tags become placeholders (``dialect.preprocess``), markdown renders the
author's text, nh3 sanitises *that* HTML, and only then are our own widgets put in place of the
placeholders, built from escaped values. So no guide text, and no inject value, can bring markup of its own
past the sanitiser, while our widgets can carry ``data-*`` attributes the sanitiser would rightly refuse
from an author.

Secret inject values (``secret: true`` in lab.yaml) are never written into the fragment: it carries a mask
and a button with ``data-reveal-key``; the web app fetches the value through a request it authorises.
"""

from __future__ import annotations

import base64
import mimetypes
import re
from collections.abc import Callable, Mapping
from html import escape
from pathlib import Path
from urllib.parse import quote

import nh3
from markdown_it.token import Token

from labguide.dialect import CLOSE, OPEN, PLACEHOLDER, Tag, markdown_parser, preprocess
from labguide.model import Guide
from labguide.packs import LabPack, StepSpec
from labguide.parse import _alt, heading_anchors, parse_guide
from labguide.resolve import image_name, is_remote

UrlFor = Callable[[str], str]

_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "details", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "kbd", "li", "mark", "ol", "p", "pre",
    "s", "samp", "span", "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
    "tr", "u", "ul",
}
_ATTRIBUTES = {
    "*": {"id", "title", "lang"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "ol": {"start"},
    "th": {"colspan", "rowspan", "scope"},
    "td": {"colspan", "rowspan"},
}
_CLEANER = nh3.Cleaner(
    tags=_TAGS,
    clean_content_tags={"script", "style"},
    attributes=_ATTRIBUTES,
    url_schemes={"http", "https", "mailto"},
    link_rel="noopener noreferrer",
)


def sanitize(html: str) -> str:
    """The author's HTML with scripts, event handlers, styles and unsafe URLs removed."""
    return _CLEANER.clean(html)


def _default_image_url(name: str) -> str:
    return "images/" + quote(name)


def render_markdown(
    text: str,
    injects: Mapping[str, str | None],
    *,
    secret_keys: frozenset[str] = frozenset(),
    steps: Mapping[str, StepSpec] | None = None,
    images_dir: Path | None = None,
    step_url: UrlFor | None = None,
    image_url: UrlFor | None = None,
    reveal_url: UrlFor | None = None,
    show_secrets: bool = False,
    guide: Guide | None = None,
) -> str:
    """Render guide source to a sanitised HTML fragment.

    ``injects`` maps inject keys to this attendee's values; a key that is absent (or ``None``) renders as a
    visible "not provided" marker. ``steps`` (from lab.yaml) labels each Validate button with its task.
    Local images resolve inside ``images_dir`` through ``image_url(name)``; missing ones become a text
    placeholder carrying their alt text. ``show_secrets`` writes secret values in clear: only for an
    author's own standalone page. ``guide`` is ``text`` already parsed (a pack holds it), saving a parse.
    """
    source, tags = preprocess(text)
    guide = guide if guide is not None else parse_guide(text)
    task_by_line = {v.line: v.task for v in guide.validations}
    image_url = image_url or _default_image_url

    md = markdown_parser()
    tokens = md.parse(source)
    for i, anchor in heading_anchors(tokens).items():
        tokens[i].attrSet("id", anchor)

    def plain(value: str) -> str:
        """``value`` with inject placeholders replaced by plain text (for URLs, alt text, titles)."""
        def one(m: re.Match) -> str:
            tag = tags[int(m.group(2))] if m.group(1) in "IV" and int(m.group(2)) < len(tags) else None
            if tag is None or tag.kind != "inject":
                return ""
            return _plain_inject(tag, injects, secret_keys, show_secrets)

        return PLACEHOLDER.sub(one, _ENCODED_PLACEHOLDER.sub(lambda m: OPEN + m.group(1) + m.group(2) + CLOSE, value))

    # Inject values inside link targets and image attributes go in as plain text; markdown-it has already
    # percent-encoded the placeholder there, and the sanitiser still vets the finished URL.
    for tok in tokens:
        for child in [tok, *(tok.children or [])]:
            for attr in ("href", "src", "title"):
                value = child.attrs.get(attr)
                if isinstance(value, str) and ("%EE%80%80" in value or OPEN in value):
                    child.attrSet(attr, plain(value) if attr == "title" else _encode_values(plain, value))

    images: list[str] = []

    def render_image(renderer, tokens: list[Token], idx: int, options, env) -> str:
        tok = tokens[idx]
        images.append(_image_html(str(tok.attrs.get("src", "")), plain(_alt(tok)), images_dir, image_url))
        return f"{OPEN}M{len(images) - 1}{CLOSE}"

    md.add_render_rule("image", render_image)
    html = sanitize(md.renderer.render(tokens, md.options, {}))

    def widget(kind: str, index: int, block: bool) -> str:
        if kind == "M":
            return images[index]
        tag = tags[index]
        if kind == "I":
            return _inject_html(tag, injects, secret_keys, reveal_url, show_secrets)
        return _validation_html(tag, steps or {}, task_by_line.get(tag.line), step_url, block)

    # A validation tag alone on its line is a paragraph of its own: give it a block widget instead.
    html = re.sub(
        f"<p>\\s*{PLACEHOLDER.pattern}\\s*</p>",
        lambda m: widget(m.group(1), int(m.group(2)), block=True) if m.group(1) == "V" else m.group(0),
        html,
    )
    html = PLACEHOLDER.sub(lambda m: widget(m.group(1), int(m.group(2)), block=False), html)
    return _CODE_SPAN.sub(_breakable_code, html)


# A code span of plain text (a folder path, a URL): no tags inside, so nothing of ours is touched.
_CODE_SPAN = re.compile(r"<code>([^<]+)</code>")


def _breakable_code(m: re.Match) -> str:
    """A code span that may wrap after each path separator (``<wbr>``), so a long folder path fits a phone
    screen; copying it still gives the path as written."""
    return "<code>" + re.sub(r"([\\/])(?=[^\\/])", r"\1<wbr>", m.group(1)) + "</code>"


def render_guide(
    pack: LabPack,
    injects: Mapping[str, str | None],
    *,
    step_url: UrlFor | None = None,
    image_url: UrlFor | None = None,
    reveal_url: UrlFor | None = None,
    show_secrets: bool = False,
) -> str:
    """The pack's guide as a sanitised HTML fragment for one attendee (see :func:`render_markdown`).

    Each Validate button and its badge slot carry ``data-step="<step id>"``; the button also carries
    ``data-url`` when ``step_url`` is given. Secret values appear only as a mask and a button with
    ``data-reveal-key`` (and ``data-url`` from ``reveal_url``).
    """
    return render_markdown(
        pack.guide_text,
        injects,
        secret_keys=pack.secret_keys,
        steps={s.id: s for s in pack.steps},
        images_dir=pack.images_dir,
        step_url=step_url,
        image_url=image_url,
        reveal_url=reveal_url,
        show_secrets=show_secrets,
        guide=pack.guide,
    )


def data_uri(path: Path) -> str:
    """``path`` as a data: URI, so a standalone page carries its images with it."""
    mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def render_page(pack: LabPack, injects: Mapping[str, str | None], *, show_secrets: bool = False) -> str:
    """A standalone HTML page of the guide (images embedded), for authors to proof-read."""
    body = render_guide(
        pack, injects, image_url=lambda name: data_uri(pack.images_dir / name), show_secrets=show_secrets
    )
    title = pack.guide.title or pack.title or pack.id
    return PAGE.format(title=escape(title), css=GUIDE_CSS, js=GUIDE_JS, body=body)


# markdown-it percent-encodes U+E000/U+E001 inside link destinations.
_ENCODED_PLACEHOLDER = re.compile(r"%EE%80%80([A-Z])(\d+)%EE%80%81")


def _encode_values(plain: Callable[[str], str], url: str) -> str:
    """``url`` with each placeholder replaced by its value, percent-encoded so it stays one URL part."""
    parts = re.split(f"({_ENCODED_PLACEHOLDER.pattern}|{PLACEHOLDER.pattern})", url)
    out, i = [], 0
    while i < len(parts):
        out.append(parts[i])
        if i + 1 < len(parts):
            out.append(quote(plain(parts[i + 1]), safe=""))
        i += 6  # the outer group plus two inner groups for each of the two alternatives
    return "".join(out)


def _plain_inject(
    tag: Tag, injects: Mapping[str, str | None], secret_keys: frozenset[str], show_secrets: bool
) -> str:
    key = tag.attrs.get("key", "").strip()
    value = injects.get(key)
    if value is None:
        return f"[{key}: not provided]"
    if key in secret_keys and not show_secrets:
        return "[hidden]"
    return str(value)


# -- widgets --------------------------------------------------------------------------------------------


def _image_html(src: str, alt: str, images_dir: Path | None, image_url: UrlFor) -> str:
    alt_attr = escape(alt, quote=True)
    if is_remote(src):
        return f'<img src="{escape(src.strip(), quote=True)}" alt="{alt_attr}" loading="lazy">'
    name = image_name(src)
    if name is not None and images_dir is not None and (images_dir / name).is_file():
        return f'<img src="{escape(image_url(name), quote=True)}" alt="{alt_attr}">'
    described = alt or (name or src)
    return (
        f'<span class="lg-image-missing" data-src="{escape(src, quote=True)}">'
        f"Image not available: {escape(described)}</span>"
    )


def _inject_html(
    tag: Tag,
    injects: Mapping[str, str | None],
    secret_keys: frozenset[str],
    reveal_url: UrlFor | None,
    show_secrets: bool,
) -> str:
    key = tag.attrs.get("key", "").strip()
    if not key:
        return '<span class="lg-inject lg-missing">[inject tag without a key]</span>'
    k = escape(key, quote=True)
    value = injects.get(key)
    if value is None:
        return f'<span class="lg-inject lg-missing" data-inject="{k}">[{escape(key)}: not provided]</span>'
    copy = (
        f'<button type="button" class="lg-copy" data-inject="{k}" aria-label="Copy {k}">Copy</button>'
        if tag.copy
        else ""
    )
    if key in secret_keys and not show_secrets:
        url = f' data-url="{escape(reveal_url(key), quote=True)}"' if reveal_url else ""
        return (
            f'<span class="lg-inject lg-secret" data-inject="{k}">'
            f'<span class="lg-value lg-mask" aria-label="{k} (hidden)">••••••••</span>'
            f'<button type="button" class="lg-reveal" data-reveal-key="{k}"{url} aria-label="Show {k}">'
            "Show</button></span>"
        )
    return f'<span class="lg-inject" data-inject="{k}"><span class="lg-value">{escape(str(value))}</span>{copy}</span>'


def _validation_html(
    tag: Tag, steps: Mapping[str, StepSpec], task: str | None, step_url: UrlFor | None, block: bool
) -> str:
    step_id = tag.attrs.get("step", "").strip()
    if not step_id:
        return '<span class="lg-validation lg-missing">[validation tag without a step id]</span>'
    s = escape(step_id, quote=True)
    spec = steps.get(step_id)
    number = spec.task if spec else task
    label = f"Validate Task {escape(number)}" if number else "Validate"
    url = f' data-url="{escape(step_url(step_id), quote=True)}"' if step_url else ""
    wrap = "div" if block else "span"
    # The step's note (lab.yaml) comes first, so it is read before the button and stays beside the badge.
    note = f'<{wrap} class="lg-step-note" data-testid="note-{s}">{escape(spec.note)}</{wrap}>' \
        if spec and spec.note else ""
    return (
        f'<{wrap} class="lg-validation" data-step="{s}">{note}'
        f'<button type="button" class="lg-validate" data-step="{s}"{url} aria-describedby="lg-badge-{s}">'
        f"{label}</button>"
        f'<{wrap} class="lg-badge" id="lg-badge-{s}" data-step="{s}" role="status" aria-live="polite"></{wrap}>'
        f"</{wrap}>"
    )


# -- standalone page ------------------------------------------------------------------------------------

GUIDE_CSS = """
body { font: 16px/1.55 system-ui, sans-serif; color: #1b1b1b; background: #fff; margin: 0; }
main { max-width: 52rem; margin: 0 auto; padding: 1rem 1.5rem 4rem; }
a { color: #0a4f99; }
h1, h2, h3, h4 { overflow-wrap: break-word; }
code, .lg-value { font-family: ui-monospace, monospace; background: #f1f3f5; padding: 0 .25em; border-radius: 3px; }
code, .lg-value { overflow-wrap: anywhere; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; }
blockquote { margin: 1rem 0; padding: .5rem 1rem; border-left: 4px solid #0a4f99; background: #f4f8fc; }
img { max-width: 100%; height: auto; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { text-align: left; vertical-align: top; padding: .3rem .75rem .3rem 0; border-bottom: 1px solid #d5d9dd; }
.lg-inject { white-space: nowrap; }
.lg-missing { background: #fff3cd; color: #4a3700; border: 1px dashed #8a6d00; padding: 0 .3em; }
.lg-image-missing { display: inline-block; border: 1px dashed #555; color: #333; background: #fafafa;
  padding: .75rem 1rem; margin: .25rem 0; }
button { font: inherit; border-radius: 4px; cursor: pointer; }
.lg-copy, .lg-reveal { font-size: .8em; margin-left: .35em; padding: 0 .5em; background: #fff;
  color: #0a4f99; border: 1px solid #0a4f99; }
.lg-validation { display: flex; align-items: center; gap: .75rem; margin: 1rem 0; flex-wrap: wrap; }
.lg-validate { background: #0a4f99; color: #fff; border: 0; padding: .45rem 1rem; }
.lg-step-note { flex-basis: 100%; margin: 0; padding: .4rem .75rem; border-left: 4px solid #5a6872;
  background: #f4f6f8; }
.lg-validate:focus-visible, .lg-copy:focus-visible, .lg-reveal:focus-visible { outline: 3px solid #f0a500;
  outline-offset: 2px; }
/* Phones: the page never scrolls sideways; long values and table cells wrap instead. */
@media (max-width: 40rem) {
  main { padding: .75rem 1rem 3rem; }
  h1 { font-size: 1.5rem; line-height: 1.3; }
  h2 { font-size: 1.25rem; }
  ol, ul { padding-left: 1.5rem; }
  .lg-inject { white-space: normal; }
  table { font-size: .875rem; }
  th, td { overflow-wrap: break-word; hyphens: auto; padding-right: .4rem; }
}
@media (max-width: 22rem) {
  th, td { overflow-wrap: anywhere; }
}
"""

# The guide's controls, one script for both homes: inlined in the standalone page, served by the web app
# (``/lab/guide.js``). A Show button has a ``data-url`` only where a server can authorise the reveal: it
# POSTs there with the page's CSRF token. A Validate button without ``data-url`` is a preview's.
GUIDE_JS = """
(function () {
  'use strict';
  document.addEventListener('click', async (event) => {
    const button = event.target.closest('button');
    if (!button) return;
    if (button.classList.contains('lg-copy')) {
      const value = button.parentElement.querySelector('.lg-value');
      try { await navigator.clipboard.writeText(value.textContent); button.textContent = 'Copied'; }
      catch (e) { button.textContent = 'Copy failed'; }
      setTimeout(() => { button.textContent = 'Copy'; }, 1500);
    } else if (button.classList.contains('lg-reveal') && button.dataset.url) {
      const token = (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
      const response = await fetch(button.dataset.url, {
        method: 'POST', credentials: 'same-origin', headers: {'X-CSRFToken': token},
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
    } else if (button.classList.contains('lg-validate') && !button.dataset.url) {
      const badge = document.getElementById('lg-badge-' + button.dataset.step);
      if (badge) badge.textContent = 'Validation runs inside labgrader; this page is a preview.';
    }
  });
})();
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<main>
{body}
</main>
<script>{js}</script>
</body>
</html>
"""
