"""A step's ``note`` in lab.yaml: loaded as text, shown before its Validate button, and linted."""

from __future__ import annotations

from pathlib import Path

from labguide.lint import lint_pack
from labguide.packs import load_pack
from labguide.render import render_guide

TASK6 = "9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66"
TASK1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


def test_task6_says_there_is_nothing_to_create():
    pack = load_pack("spot-the-flaw")
    note = pack.step(TASK6).note
    assert "nothing to create" in note and "labgrader checks" in note
    assert "\n" not in note and "  " not in note  # folded into one line of text
    assert [s.id for s in pack.steps if s.note] == [TASK6]


def test_note_is_shown_before_the_validate_button_escaped(pack_copy):
    _edit(pack_copy / "lab.yaml", "    task: \"1\"\n", "    task: \"1\"\n    note: Look <b>here</b> & there.\n")
    html = render_guide(load_pack(pack_copy), {})
    widget = html[html.index(f'<div class="lg-validation" data-step="{TASK1}">'):]
    note = widget.index(f'data-testid="note-{TASK1}">Look &lt;b&gt;here&lt;/b&gt; &amp; there.<')
    assert note < widget.index('class="lg-validate"') < widget.index('class="lg-badge"')
    # The badge and the button keep their wiring: the button is still described by the badge alone.
    assert f'aria-describedby="lg-badge-{TASK1}"' in widget


def test_steps_without_a_note_render_no_note():
    html = render_guide(load_pack("spot-the-flaw"), {})
    assert html.count('class="lg-step-note"') == 1


def test_lint_reports_a_note_that_is_not_text_or_uses_a_template(pack_copy):
    _edit(pack_copy / "lab.yaml", "    task: \"1\"\n", "    task: \"1\"\n    note: [one, two]\n")
    problems = [str(p) for p in lint_pack(load_pack(pack_copy))]
    assert any("note must be text, not list" in p for p in problems), problems

    _edit(pack_copy / "lab.yaml", "    note: [one, two]\n", "    note: Your region is {Region}.\n")
    problems = [str(p) for p in lint_pack(load_pack(pack_copy))]
    assert any("uses a {Key} template" in p and "lab.yaml:" in p for p in problems), problems
