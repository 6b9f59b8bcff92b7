"""Rendering: substitution, markers, widgets, images, anchors, and safety against hostile content."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from labguide.packs import load_pack
from labguide.render import render_guide, render_markdown, render_page

SEED_VALUES = {"Region": "eastus2", "AzureAdUserEmail": "odl_user_99@lab.example"}


class _Collect(HTMLParser):
    """Every start tag with its attributes, so tests look at the DOM rather than at substrings."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def parse_html(html: str) -> list[tuple[str, dict[str, str | None]]]:
    collector = _Collect()
    collector.feed(html)
    return collector.tags


def test_seed_renders_without_raw_tags_and_with_values(seed_text):
    html = render_markdown(seed_text, SEED_VALUES, secret_keys=frozenset({"AzureAdUserPassword"}))

    assert "<inject" not in html.lower() and "<validation" not in html.lower()
    assert "\ue000" not in html and "\ue001" not in html
    assert ">eastus2<" in html and ">odl_user_99@lab.example<" in html
    # The password was not given: a visible marker says so, rather than an empty gap.
    assert '[AzureAdUserPassword: not provided]' in html
    steps = [a["data-step"] for t, a in parse_html(html) if t == "button" and "data-step" in a]
    assert steps == ["d59e98f0-5614-4e26-b82c-18374ffffb6c", "0b268237-4be0-4453-a6ac-5603f697a1a9"]
    # No seed image is shipped here: each becomes a readable placeholder, never a broken <img>.
    assert "<img" not in html
    assert html.count("Image not available: n48c1.png") == 1


def test_enable_copy_false_has_no_copy_button():
    html = render_markdown('<inject key="A" enableCopy="false"/> <inject key="B"/>', {"A": "x", "B": "y"})
    copies = [a for t, a in parse_html(html) if t == "button" and a.get("class") == "lg-copy"]
    assert [c["data-inject"] for c in copies] == ["B"]


def test_secret_value_never_in_html_unless_asked():
    text = "Password: <inject key=\"Pw\"></inject>"
    values = {"Pw": "Hunter2-secret"}

    html = render_markdown(text, values, secret_keys=frozenset({"Pw"}), reveal_url=lambda k: f"/reveal/{k}")
    assert "Hunter2" not in html
    reveal = [a for t, a in parse_html(html) if t == "button" and a.get("data-reveal-key")]
    assert reveal == [{"type": "button", "class": "lg-reveal", "data-reveal-key": "Pw", "data-url": "/reveal/Pw",
                       "aria-label": "Show Pw"}]

    shown = render_markdown(text, values, secret_keys=frozenset({"Pw"}), show_secrets=True)
    assert ">Hunter2-secret<" in shown


def test_validation_widget_carries_step_task_and_url():
    pack = load_pack("spot-the-flaw")
    html = render_guide(pack, pack.demo_injects(), step_url=lambda s: f"/validate/{s}")
    buttons = [a for t, a in parse_html(html) if t == "button" and a.get("class") == "lg-validate"]
    assert [b["data-step"] for b in buttons] == [s.id for s in pack.steps]
    assert buttons[2]["data-url"] == f"/validate/{pack.steps[2].id}"
    badges = [a for t, a in parse_html(html) if a.get("class") == "lg-badge"]
    assert [b["id"] for b in badges] == [b["aria-describedby"] for b in buttons]
    assert all(b["role"] == "status" for b in badges)
    assert re.search(r">Validate Task 3\.1</button>", html)
    # The validation tag stood alone, so its widget is a block, not a <div> inside a <p>.
    assert "<p><div" not in html


def test_pack_images_resolve_and_headings_have_stable_anchors():
    pack = load_pack("spot-the-flaw")
    html = render_guide(pack, {}, image_url=lambda name: f"/packs/spot-the-flaw/images/{name}")
    srcs = [a["src"] for t, a in parse_html(html) if t == "img"]
    assert srcs == ["/packs/spot-the-flaw/images/architecture.svg", "/packs/spot-the-flaw/images/dataset.svg"]
    ids = [a["id"] for t, a in parse_html(html) if t in ("h3", "h4") and "id" in a]
    assert ids == ["task-1", "task-2", "task-3", "task-3-1", "task-3-2", "task-4", "task-5", "task-5-1",
                   "task-5-2", "task-6"]


def test_missing_image_placeholder_uses_alt_text(tmp_path):
    (tmp_path / "here.png").write_bytes(b"\x89PNG")
    html = render_markdown("![A casting](images/gone.png) ![ok](images/here.png)", {}, images_dir=tmp_path)
    assert "Image not available: A casting" in html
    assert [a["src"] for t, a in parse_html(html) if t == "img"] == ["images/here.png"]


HOSTILE_GUIDE = """\
# Title <script>alert('title')</script>

<script>alert(1)</script>
<img src="x" onerror="alert(2)">
<a href="javascript:alert(3)">click</a>
<div onclick="alert(4)" style="background:url(javascript:alert(5))">div</div>
[link](javascript:alert(6)) [data](data:text/html;base64,PHNjcmlwdD4=)
![pic](javascript:alert(7))
<iframe src="https://evil.example"></iframe>
<svg><script>alert(8)</script></svg>
<validation step="x&quot; onmouseover=&quot;alert(9)" />
<inject key="K"/> \ue000V0\ue001
"""


def _assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script" not in lowered and "<iframe" not in lowered and "<svg" not in lowered
    for tag, attrs in parse_html(html):
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name)
            assert name != "style", tag
            if name in ("href", "src", "data-url"):
                assert not (value or "").strip().lower().startswith(("javascript:", "data:")), (tag, value)


def test_hostile_guide_comes_out_inert():
    html = render_markdown(HOSTILE_GUIDE, {"K": "v"})
    _assert_inert(html)
    assert "click" in html and "div" in html  # content survives; only the danger goes


@pytest.mark.parametrize(
    "value",
    ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>', "javascript:alert(1)",
     "</span><a href='javascript:alert(1)'>x</a>"],
)
def test_hostile_inject_values_are_escaped(value):
    html = render_markdown('Name: <inject key="K"/> [go](https://example.com)', {"K": value})
    _assert_inert(html)
    tags = [t for t, _ in parse_html(html)]
    assert "img" not in tags and tags.count("a") == 1


def test_standalone_page_is_complete_and_masks_secrets():
    pack = load_pack("spot-the-flaw")
    page = render_page(pack, pack.demo_injects())
    assert page.startswith("<!doctype html>") and '<html lang="en">' in page
    assert "<title>Spot the Flaw: detecting defective castings with image classification</title>" in page
    assert pack.demo_injects()["AzureAdUserPassword"] not in page
    assert 'src="data:image/svg+xml;base64,' in page


def test_inject_inside_link_target_and_alt_text_becomes_plain_text():
    text = ('[open](https://portal.example/<inject key="Rg"/>?p=<inject key="Pw"/>) '
            '![Photo of <inject key="Rg"/>](x.png)')
    html = render_markdown(text, {"Rg": "rg 1/&", "Pw": "s3cret"}, secret_keys=frozenset({"Pw"}))
    links = [a["href"] for t, a in parse_html(html) if t == "a"]
    assert links == ["https://portal.example/rg%201%2F%26?p=%5Bhidden%5D"]
    assert "Image not available: Photo of rg 1/&amp;" in html
    assert "s3cret" not in html and "%EE%80" not in html


def test_inject_value_cannot_turn_a_link_into_javascript():
    html = render_markdown('[go](<inject key="U"/>)', {"U": "javascript:alert(1)"})
    _assert_inert(html)


def test_a_tag_over_several_lines_renders_in_place():
    from tests.labguide.test_guide_parse import MULTILINE

    html = render_markdown(MULTILINE, {"Region": "eastus"})
    # The inject stays inside its sentence (one paragraph), the validation is a block widget of its own.
    assert '<p>Use the region <span class="lg-inject" data-inject="Region"><span class="lg-value">eastus</span>' \
           "</span> for every resource\nyou create.</p>" in html
    assert '<div class="lg-validation" data-step="s-1">' in html and ">Validate Task 1</button>" in html
    assert '<h2 id="task-2">Task 2: Check it</h2>' in html
    assert "\ue000" not in html and "\ue001" not in html and "\ue002" not in html


def test_render_uses_the_guide_it_is_given(pack_copy):
    from labguide.parse import parse_guide

    text = "## Task 7: Seven\n\n<validation step=\"s-7\"/>\n"
    other = parse_guide(text.replace("Task 7", "Task 8"))  # same lines, another task number
    assert ">Validate Task 8</button>" in render_markdown(text, {}, guide=other)  # used, not parsed again
    # render_guide hands the pack's parsed guide over: a step lab.yaml lacks takes its task from pack.guide.
    guide_md = pack_copy / "guide.md"
    guide_md.write_text(guide_md.read_text(encoding="utf-8") + "\n## Task 77: Extra\n\n<validation step=\"extra\"/>\n",
                        encoding="utf-8")
    pack = load_pack(pack_copy)
    pack.__dict__["guide"] = parse_guide(pack.guide_text.replace("Task 77", "Task 42"))
    assert 'data-step="extra" aria-describedby="lg-badge-extra">Validate Task 42</button>' in render_guide(pack, {})


def test_the_preview_script_has_no_get_reveal():
    from labguide.render import GUIDE_JS

    # Reveals are POSTs with the page's CSRF token (the web app serves this script); never a GET.
    assert "fetch(button.dataset.url, {\n        method: 'POST'" in GUIDE_JS
    assert GUIDE_JS.count("fetch(") == 1
    assert "!button.dataset.url" in GUIDE_JS  # the preview's Validate message stays off the web app's buttons
