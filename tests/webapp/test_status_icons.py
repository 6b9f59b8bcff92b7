"""Status icons need no emoji font: inline SVG drawn in the text colour, always beside the status in words,
in every template (a lab computer without an emoji font showed the old symbols as empty boxes)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from webapp.student.badges import LOOKS, NOT_STARTED, icon

ROOT = Path(__file__).resolve().parents[2] / "webapp"
# Symbols and pictographs that only an emoji or symbol font draws (as characters or as HTML entities).
SYMBOLS = re.compile(r"[\u2300-\u23ff\u2600-\u27bf\u2b00-\u2bff\U0001f000-\U0001faff]|&#x(2[3-7b]|1f)[0-9a-f]{2,3};",
                     re.I)


def test_every_look_has_an_svg_icon_hidden_from_screen_readers_and_a_word():
    for look in [*LOOKS.values(), NOT_STARTED]:
        svg = str(look.icon)
        assert re.fullmatch(r'<svg class="lg-svg" [^>]*aria-hidden="true" focusable="false"[^>]*>.*</svg>', svg)
        assert 'stroke="currentColor"' in svg and not re.search(r">[^<]+<", svg)  # no text inside
        assert look.status and look.label


def test_no_template_or_script_uses_a_symbol_character():
    files = [*ROOT.rglob("*.html"), *ROOT.rglob("*.js"), ROOT / "student" / "badges.py"]
    files = [f for f in files if "vendor" not in f.parts]
    found = {str(f.relative_to(ROOT)): SYMBOLS.findall(f.read_text(encoding="utf-8")) for f in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_an_unknown_icon_is_a_key_error():
    with pytest.raises(KeyError):
        icon("smiley")
