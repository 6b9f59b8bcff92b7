"""The rendered guide in a real browser: axe-core finds no serious or critical accessibility violation."""

from __future__ import annotations

import os

import pytest

from labguide.packs import load_pack
from labguide.render import render_page
from tests.conftest import require

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]


@pytest.fixture(scope="module")
def browser():
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is not installed (make browser)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _violations(browser, html_path) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    page = browser.new_page()
    try:
        page.goto(html_path.as_uri())
        return Axe().run(page).response["violations"]
    finally:
        page.close()


@pytest.mark.browser
@pytest.mark.parametrize("values", ["demo", "missing"])
def test_rendered_pack_has_no_serious_violations(browser, tmp_path, values):
    pack = load_pack("spot-the-flaw")
    injects = pack.demo_injects() if values == "demo" else {}
    path = tmp_path / "guide.html"
    path.write_text(render_page(pack, injects), encoding="utf-8")

    violations = _violations(browser, path)
    serious = [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:120]}" for v in violations
               if v["impact"] in ("serious", "critical")]
    assert serious == []


@pytest.mark.browser
def test_rendered_seed_guide_has_no_serious_violations(browser, tmp_path, shared_dir):
    """The original guide, with all its screenshots missing and no values given, is still accessible."""
    seed = load_pack(shared_dir / "seeds" / "000_fe57d823e3a1b478.txt")
    path = tmp_path / "seed.html"
    path.write_text(render_page(seed, {}), encoding="utf-8")
    assert [v["id"] for v in _violations(browser, path) if v["impact"] in ("serious", "critical")] == []


@pytest.mark.browser
def test_axe_does_catch_a_bad_page(browser, tmp_path):
    """The scan is live: an unlabelled button and low-contrast text are reported as serious or critical."""
    path = tmp_path / "bad.html"
    path.write_text('<!doctype html><html><body><button></button>'
                    '<p style="color:#bbb;background:#fff">faint</p></body></html>')
    impacts = {v["id"]: v["impact"] for v in _violations(browser, path)}
    assert impacts.get("button-name") == "critical"
    assert impacts.get("color-contrast") == "serious"
