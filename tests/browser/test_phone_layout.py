"""The student's guide, the attempt history and the proctor grid on a 375 px phone: nothing scrolls
sideways, the sticky header keeps to a thin line, and axe finds nothing at all (every impact).

Each test works with an attendee of its own (added as the demo adds its class), so what other tests do to
the demo's student changes nothing here.
"""

from __future__ import annotations

import itertools

import pytest

from tests.browser.conftest import sign_in_proctor

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
PHONE = {"width": 375, "height": 800}
HEADER_SHARE = 0.08  # the sticky header may cover at most this share of the screen's height

pytestmark = pytest.mark.browser
_names = itertools.count(1)


def new_student(site, cohort: str = "browser-layout") -> str:
    """A launch link for a new attendee with Azure of their own in the demo's simulator."""
    import requests

    from webapp import demo as demo_mod
    from webapp.services import attendees, launch

    name = f"phone-{next(_names)}"
    info = site.demo.sim_info
    answer = requests.post(f"{info['admin_url']}/attendees", json={"name": name, "region": "eastus"},
                           verify=info["ca_bundle"], timeout=30)
    answer.raise_for_status()
    with site.app.app_context():
        who = attendees.upsert(demo_mod.LAB, name, cohort=cohort, display_name=f"Phone Student {name}",
                               azure=answer.json(), injects={"AzureAdUserEmail": f"{name}@demo.labgrader.local"})
        return launch.make_link(who)


@pytest.fixture
def phone(browser):
    """``phone()``: a page 375 px wide in a fresh browser context (cookies of its own)."""
    from tests.browser.conftest import TIMEOUT_MS

    contexts = []

    def make():
        context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sideways(page) -> dict:
    """The page's scroll width against the screen's, and the elements that stick out to the right."""
    return page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const out = [];
        for (const el of document.querySelectorAll('body *')) {
            const box = el.getBoundingClientRect();
            if (box.width && box.right > width + 0.5 && !el.closest('.lg-table-wrap')) {
                const name = `${el.tagName.toLowerCase()}.${el.getAttribute('class') || ''}`;
                out.push(`${name} ends at ${Math.round(box.right)}`);
            }
        }
        return {scroll: document.scrollingElement.scrollWidth, width: window.innerWidth, wide: out.slice(0, 8)};
    }""")


def assert_no_sideways_scroll(page) -> None:
    found = sideways(page)
    # Against the phone's width, not the window's: a mobile browser widens its layout viewport to fit a page
    # that overflows (the attendee page made it 503 px), so the window's own width would hide the overflow.
    assert found["scroll"] <= PHONE["width"] and found["width"] <= PHONE["width"], f"the page scrolls sideways: {found}"


def assert_thin_header(page) -> None:
    header = page.locator(".lg-header").bounding_box()
    screen = page.evaluate("window.innerHeight")
    assert header["height"] <= HEADER_SHARE * screen, f"the sticky header is {header['height']} of {screen} px"
    assert page.locator(".lg-header").evaluate("h => getComputedStyle(h).position") == "sticky"


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:160]}" for v in found]


def test_the_guide_fits_a_phone(site, phone, tmp_path):
    from playwright.sync_api import expect

    page = phone()
    page.goto(new_student(site))
    expect(page.get_by_test_id("guide")).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_thin_header(page)
    # The longest things in the guide: a folder path in a code span, and a table of settings.
    path = page.locator(".lg-guide code", has_text="casting_512x512").first
    path.scroll_into_view_if_needed()
    box = path.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"], "a folder path sticks out"
    assert path.evaluate("c => c.textContent").startswith("C:\\srebdatafiles\\Dataset\\")  # copied as written
    for table in page.locator(".lg-guide table").all():
        table_box = table.bounding_box()
        assert table_box["x"] + table_box["width"] <= PHONE["width"]
    # The header still names the student and the progress, in words a screen reader gets.
    expect(page.get_by_label("Tasks done: 0 of 8")).to_be_attached()
    page.screenshot(path=tmp_path / "guide-375.png")
    assert violations(page) == []


def test_a_result_and_the_opened_attempt_history_fit_a_phone(site, phone, tmp_path):
    from playwright.sync_api import expect

    page = phone()
    page.goto(new_student(site))
    for step in (STEP1, STEP1, STEP2):
        page.get_by_test_id(f"validate-{step}").click()
        expect(page.get_by_test_id(f"badge-{step}").get_by_test_id("status")).to_have_text("FAIL")
    history = page.get_by_test_id(f"history-{STEP1}")
    history.locator("summary").click()
    expect(history.locator("li")).to_have_count(2)
    history.get_by_role("button", name="Details").first.click()
    expect(history.get_by_test_id("result")).to_be_visible()
    page.get_by_test_id(f"history-{STEP2}").locator("summary").click()
    # Everything a student can unfold under a Validate button, unfolded (what was found, details, ...).
    page.evaluate("document.querySelectorAll('.lg-validation details').forEach(d => { d.open = true; })")
    history.scroll_into_view_if_needed()
    assert_no_sideways_scroll(page)
    assert_thin_header(page)
    page.screenshot(path=tmp_path / "history-375.png")
    assert violations(page) == []


def test_the_proctor_grid_scrolls_in_its_own_frame_not_the_page(site, phone, tmp_path):
    from playwright.sync_api import expect

    page = phone()
    sign_in_proctor(page, site)
    assert_no_sideways_scroll(page)  # the class list
    page.goto(site.class_url)
    expect(page.get_by_test_id("grid")).to_be_visible()
    assert_no_sideways_scroll(page)
    assert_thin_header(page)
    # The grid is wider than the phone: its frame scrolls, and a keyboard can reach it to scroll it.
    frame = page.get_by_role("region", name="Attendees (rows) by task (columns)")
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")
    assert frame.get_attribute("tabindex") == "0"
    frame.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.getElementById('lg-grid-frame').scrollLeft >= 100")
    # The attendee column stays in view while the tasks scroll past.
    name = page.get_by_test_id("row-ada").locator("th")
    assert name.bounding_box()["x"] >= 0
    # The grid refreshes itself (every 5 s): the proctor keeps their place and their focus.
    page.wait_for_timeout(800)  # the keys' smooth scrolling comes to rest
    left = frame.evaluate("f => f.scrollLeft")
    updated = page.get_by_test_id("updated-at").inner_text()
    expect(page.get_by_test_id("updated-at")).not_to_have_text(updated, timeout=12_000)
    page.wait_for_timeout(100)  # the refresh settles
    assert frame.evaluate("f => [f.scrollLeft, document.activeElement === f]") == [left, True]
    page.screenshot(path=tmp_path / "grid-375.png")
    assert violations(page) == []


def test_the_proctors_attendee_page_fits_a_phone(site, phone, tmp_path):
    from playwright.sync_api import expect

    page = phone()
    sign_in_proctor(page, site)
    page.goto(site.class_url)
    page.get_by_test_id("row-ada").locator("th a").click()
    expect(page.get_by_test_id("attendee-steps")).to_be_visible()
    # Everything a proctor can unfold on it, unfolded (what was found, technical details with raw evidence).
    page.evaluate("document.querySelectorAll('main details').forEach(d => { d.open = true; })")
    assert_no_sideways_scroll(page)
    assert_thin_header(page)
    # The tasks table is wider than the phone: its own frame scrolls, and a keyboard can reach it.
    frame = page.get_by_role("region", name="Tasks")
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")
    assert frame.get_attribute("tabindex") == "0"
    frame.focus()
    for _ in range(4):
        page.keyboard.press("ArrowRight")
    page.wait_for_function("() => document.querySelector('[data-testid=attendee-steps-frame]').scrollLeft >= 100")
    page.screenshot(path=tmp_path / "attendee-375.png")
    assert violations(page) == []
