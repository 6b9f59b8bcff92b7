"""The student's page keeping itself up to date, in Chromium: a PENDING step rechecks by itself (also after
a reload) until it settles, without using up the student's presses; a refused press keeps the last result,
counts down and holds the button; focus stays on the pressed button, with a ring of at least 3:1; times are
the student's local time; and axe finds nothing in these states.

The demo here is this module's own (one attendee per test, added as the demo adds its class): its trainings
run until a test ends them, so nothing depends on how fast this machine is. Rechecks are due after 2 s
instead of a training's 10 s (the page's timing is what is under test; the checks' own is tested with them).
"""

from __future__ import annotations

import itertools
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from webapp import demo as demo_mod
from webapp.services import jobs

STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
STEP4 = "3c9e5f1a-7b2d-4e8f-a6c0-2d4b6e8f0a33"
RECHECK_SECONDS = 2
BADGE_BACKGROUNDS = ("lg-pass", "lg-fail", "lg-pending", "lg-error", "lg-none", "lg-limited")

pytestmark = pytest.mark.browser
_names = itertools.count(1)


@dataclass
class Live:
    demo: demo_mod.Demo
    app: object
    sim: object

    def student(self) -> tuple[str, dict, object]:
        """A new attendee of the class: (launch link, Azure credentials, their database row)."""
        from webapp.services import attendees, launch

        name = f"live-{next(_names)}"
        creds = self.sim.create_attendee(name)
        with self.app.app_context():
            who = attendees.upsert(demo_mod.LAB, name, cohort=demo_mod.CLASS, display_name=name.title(),
                                   azure=creds, injects={"AzureAdUserEmail": f"{name}@demo.labgrader.local"})
            return launch.make_link(who), creds, who

    def finish_training(self, creds: dict) -> None:
        """End every training of this attendee now (it would otherwise run for an hour)."""
        now = datetime.now(UTC)
        with self.sim.state.lock:
            for acct in self.sim.state.accounts.values():
                if acct.subscription_id == creds["subscription_id"] and acct.cv is not None:
                    for project in acct.cv.projects.values():
                        for it in project.iterations.values():
                            it.finishes_at = min(it.finishes_at, now)

    def triggers(self, who, step: str) -> list[str]:
        from webapp.services import attempts

        with self.app.app_context():
            return [a.trigger for a in reversed(attempts.history(who, step))]


@pytest.fixture(scope="module")
def live(tmp_path_factory, browser):
    import checks.iterations

    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in __import__("os").environ if k.startswith("LABGRADER_")]:
            mp.delenv(key)
        folder = tmp_path_factory.mktemp("live") / "demo"
        demo, server, sim, seeding = demo_mod.start(folder, "127.0.0.1", 0, 1, training_seconds=3600,
                                                    provisioning_seconds=0.2)
        mp.setattr(checks.iterations, "training_recheck_after", lambda it, ctx: RECHECK_SECONDS)
        server.app.config["RECHECK_RATE_LIMIT"] = "60 per minute"  # spaces rechecks 1 s apart at least
        serving = threading.Thread(target=server.serve_forever, name="live-http", daemon=True)
        serving.start()
        try:
            seeding.join(30)
            yield Live(demo, server.app, sim)
        finally:
            demo.stop_seeding.set()
            server.shutdown()
            server.server_close()
            jobs.shutdown(server.app)
            sim.stop()


@pytest.fixture
def press_limit(live):
    """``press_limit("2 per minute")``: the Validate limit for this test."""
    before = live.app.config["VALIDATE_RATE_LIMIT"]
    yield lambda rate: live.app.config.update(VALIDATE_RATE_LIMIT=rate)
    live.app.config["VALIDATE_RATE_LIMIT"] = before


def training_started(creds: dict) -> None:
    """Tasks 1 to 3.2 done right and Task 4's training started (running until finish_training)."""
    from azuresim.student import Student

    student = Student(creds, wait_for_training=False)
    for task in ("1", "2", "3.1", "3.2", "4"):
        student.do(task)


def watch(page, path: str) -> list[str]:
    """The URLs of the page's requests whose path ends with ``path``, as they happen."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.url.endswith(path) else None)
    return seen


def violations(page) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['nodes'][0]['html'][:160]}" for v in found]


# -- PENDING ----------------------------------------------------------------------------------------------


def test_pending_rechecks_by_itself_resumes_after_a_reload_and_stops_when_the_step_settles(live, new_page):
    from playwright.sync_api import expect

    link, creds, who = live.student()
    training_started(creds)
    page = new_page()
    rechecks = watch(page, f"/lab/steps/{STEP4}/recheck")
    page.goto(link)
    badge = page.get_by_test_id(f"badge-{STEP4}")
    page.get_by_test_id(f"validate-{STEP4}").click()
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    expect(badge.get_by_test_id("recheck")).to_contain_text("Checking again by itself in")
    expect(badge).not_to_contain_text("Validate again")  # one way to go on, never two
    with page.expect_response(lambda r: r.url.endswith("/recheck")) as first:
        pass
    assert first.value.status == 200
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    assert violations(page) == []

    page.reload()
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    expect(badge).to_contain_text("(last check, at ")
    expect(badge.get_by_test_id("checked-at")).not_to_contain_text("UTC")  # the student's own clock
    expect(badge.get_by_test_id("recheck")).to_be_visible()
    before = len(rechecks)
    with page.expect_response(lambda r: r.url.endswith("/recheck")):
        pass  # after the reload, the page picks the rechecks up again by itself
    assert len(rechecks) > before
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    expect(badge).not_to_contain_text("(last check")  # a fresh result replaced the stored one

    live.finish_training(creds)
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    expect(badge.get_by_test_id("recheck")).to_have_count(0)
    settled = len(rechecks)
    page.wait_for_timeout(3 * RECHECK_SECONDS * 1000)  # long enough for three more, had any been due
    assert len(rechecks) == settled
    page.reload()
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    expect(badge.get_by_test_id("recheck")).to_have_count(0)
    assert live.triggers(who, STEP4)[0] == "student" and set(live.triggers(who, STEP4)[1:]) == {"recheck"}


# Headless Chromium keeps every page visible (another tab brought to the front, a minimised window, a
# frozen page: none of them changes document.visibilityState), so the test drives the Page Visibility API's
# two readings and its event, exactly what a browser does when a tab goes to the background and back.
TAB_VISIBILITY = """(() => {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'hidden', {configurable: true, get: () => hidden});
  Object.defineProperty(Document.prototype, 'visibilityState', {configurable: true,
    get: () => (hidden ? 'hidden' : 'visible')});
  window.lgTabHidden = (value) => { hidden = value; document.dispatchEvent(new Event('visibilitychange')); };
})();"""


def test_rechecks_pause_while_the_tab_is_hidden_and_catch_up_when_it_is_shown(live, new_page):
    from playwright.sync_api import expect

    link, creds, who = live.student()
    training_started(creds)
    page = new_page()
    page.add_init_script(TAB_VISIBILITY)
    rechecks = watch(page, f"/lab/steps/{STEP4}/recheck")
    page.goto(link)
    badge = page.get_by_test_id(f"badge-{STEP4}")
    page.get_by_test_id(f"validate-{STEP4}").click()
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    with page.expect_response(lambda r: r.url.endswith("/recheck")):
        pass  # a visible tab rechecks by itself
    expect(badge.get_by_test_id("recheck")).to_be_visible()  # the next one is waiting

    page.evaluate("lgTabHidden(true)")
    hidden_at = len(rechecks)
    page.wait_for_timeout(3 * RECHECK_SECONDS * 1000)  # long enough for three more, had any been sent
    assert len(rechecks) == hidden_at, "a hidden tab went on rechecking"
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    assert live.triggers(who, STEP4).count("recheck") == hidden_at  # nothing reached Azure meanwhile

    live.finish_training(creds)  # the training ends while nobody looks
    with page.expect_response(lambda r: r.url.endswith("/recheck")):
        page.evaluate("lgTabHidden(false)")  # shown again: the held recheck is sent
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    expect(badge.get_by_test_id("recheck")).to_have_count(0)
    assert len(rechecks) == hidden_at + 1


def test_automatic_rechecks_never_use_up_the_students_presses(live, new_page, press_limit):
    from playwright.sync_api import expect

    press_limit("2 per minute")
    link, creds, who = live.student()
    training_started(creds)
    page = new_page()
    rechecks = watch(page, f"/lab/steps/{STEP4}/recheck")
    page.goto(link)
    badge = page.get_by_test_id(f"badge-{STEP4}")
    button = page.get_by_test_id(f"validate-{STEP4}")
    button.click()
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    for _ in range(3):  # more rechecks than the two presses the limit allows
        with page.expect_response(lambda r: r.url.endswith("/recheck")) as answer:
            pass
        assert answer.value.status == 200
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")

    button.click()  # the second press of the minute: still the student's to make
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    expect(badge.get_by_test_id("notice")).to_have_count(0)
    button.click()  # the third is refused, and the PENDING badge and its rechecks go on
    expect(badge.get_by_test_id("notice")).to_contain_text("You pressed Validate for this task often")
    expect(badge.get_by_test_id("status")).to_have_text("PENDING")
    after = len(rechecks)
    with page.expect_response(lambda r: r.url.endswith("/recheck")):
        pass
    assert len(rechecks) > after

    live.finish_training(creds)
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    assert live.triggers(who, STEP4).count("student") == 2 and live.triggers(who, STEP4).count("recheck") >= 4


# -- a refused press --------------------------------------------------------------------------------------


def _seconds(text: str) -> int:
    return int(re.search(r"\d+", text).group(0))


def test_a_refused_press_keeps_the_pass_counts_down_and_holds_the_button(live, new_page, press_limit):
    from playwright.sync_api import expect

    from azuresim.student import Student

    # The refused press's countdown must show two or more seconds for the test to watch it fall: with a 5 s window
    # a loaded machine taking 4 s over the first press left 1 s, whose next tick reads "a moment".
    press_limit("1 per 10 seconds")
    link, creds, _ = live.student()
    Student(creds).do("1")
    page = new_page()
    page.goto(link)
    badge = page.get_by_test_id(f"badge-{STEP1}")
    button = page.get_by_test_id(f"validate-{STEP1}")
    button.focus()
    page.keyboard.press("Enter")
    expect(badge.get_by_test_id("status")).to_have_text("PASS")

    page.keyboard.press("Enter")  # too soon
    notice = badge.get_by_test_id("notice")
    expect(notice).to_contain_text("the result below is still your latest")
    expect(badge.get_by_test_id("status")).to_have_text("PASS")  # the PASS stays
    expect(button).to_be_disabled()
    assert page.evaluate("document.activeElement.dataset.testid") == f"validate-{STEP1}"  # focus stays too
    countdown = notice.locator("[data-countdown]")
    first = _seconds(countdown.inner_text())
    expect(countdown).not_to_have_text(countdown.inner_text())  # it counts down, live
    assert 0 < _seconds(countdown.inner_text()) < first
    assert violations(page) == []
    page.keyboard.press("Enter")  # while held, a press sends nothing

    expect(button).to_be_enabled()
    expect(notice).to_have_count(0)
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    page.keyboard.press("Enter")
    expect(badge.get_by_test_id("checked-at")).to_be_visible()
    expect(badge.get_by_test_id("status")).to_have_text("PASS")
    expect(badge.get_by_test_id("notice")).to_have_count(0)


# -- focus ------------------------------------------------------------------------------------------------


def _focused(page) -> str | None:
    return page.evaluate("document.activeElement && (document.activeElement.dataset.testid || "
                         "document.activeElement.tagName)")


def test_focus_stays_on_the_pressed_button_and_tab_goes_on_from_there(live, new_page):
    from playwright.sync_api import expect

    link, _, _ = live.student()
    page = new_page()
    page.goto(link)
    badge = page.get_by_test_id(f"badge-{STEP1}")
    page.get_by_test_id(f"validate-{STEP1}").focus()
    page.keyboard.press("Enter")
    expect(badge.get_by_test_id("status")).to_have_text("FAIL")
    expect(page.get_by_test_id(f"validate-{STEP1}")).to_be_focused()

    # Tab goes on to what the result offers ("What was found"), then the attempts; Shift+Tab comes back.
    page.keyboard.press("Tab")
    assert page.evaluate(f"document.getElementById('lg-badge-{STEP1}').contains(document.activeElement)")
    page.keyboard.press("Tab")
    assert page.evaluate(f"document.getElementById('lg-history-{STEP1}').contains(document.activeElement)")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_test_id(f"validate-{STEP1}")).to_be_focused()

    do_it = page.get_by_test_id("practice-do").first
    do_it.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("practice-result")).to_be_visible()
    expect(do_it).to_be_focused()


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((_luminance(_rgb(a)), _luminance(_rgb(b))), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def _rgb(css: str) -> tuple[float, ...]:
    values = tuple(float(v) for v in re.findall(r"[\d.]+", css))
    assert len(values) == 3 or values[3] == 1, f"not an opaque colour: {css}"
    return values


RING = """el => { const s = getComputedStyle(el); return {matches: el.matches(':focus-visible'),
  style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor}; }"""
# What the ring is drawn on (it sits outside the element, offset): the nearest painted background around it.
BACKGROUND = """el => { for (let e = el.parentElement; e; e = e.parentElement) {
  const c = getComputedStyle(e).backgroundColor;
  if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return 'rgb(255, 255, 255)'; }"""


def test_the_focus_ring_has_at_least_3_to_1_against_white_and_every_badge(live, new_page):
    from playwright.sync_api import expect

    link, _, _ = live.student()
    page = new_page()
    page.goto(link)
    button = page.get_by_test_id(f"validate-{STEP1}")
    button.focus()
    page.keyboard.press("Enter")
    badge = page.get_by_test_id(f"badge-{STEP1}")
    expect(badge.get_by_test_id("status")).to_have_text("FAIL")
    expect(button).to_be_focused()
    ring = button.evaluate(RING)
    assert ring["matches"] and ring["style"] == "solid" and ring["width"] >= 2, ring
    assert _contrast(ring["color"], button.evaluate(BACKGROUND)) >= 3  # the page around the button: white
    assert _contrast(ring["color"], "rgb(255, 255, 255)") >= 3

    # Inside a badge, the ring is drawn on the badge's own background: every status's.
    page.keyboard.press("Tab")
    found = page.locator(":focus")
    expect(found).to_have_count(1)
    inside = found.evaluate(RING)
    assert inside["matches"] and badge.evaluate("(b) => b.contains(document.activeElement)")
    result = badge.get_by_test_id("result")
    for css in BADGE_BACKGROUNDS:
        result.evaluate("(el, css) => { el.className = 'lg-result ' + css; }", css)
        background = found.evaluate(BACKGROUND)
        assert _contrast(inside["color"], background) >= 3, (css, inside["color"], background)

    # On the dark header, a ring of its own.
    sign_out = page.get_by_role("button", name="Sign out")
    sign_out.focus()
    header = sign_out.evaluate(RING)
    assert _contrast(header["color"], sign_out.evaluate(BACKGROUND)) >= 3, header


# -- local times ------------------------------------------------------------------------------------------


def test_times_are_the_students_local_time(live, browser):
    from playwright.sync_api import expect

    link, _, _ = live.student()
    context = browser.new_context(timezone_id="Pacific/Auckland", locale="en-GB")
    try:
        page = context.new_page()
        page.goto(link)
        page.get_by_test_id(f"validate-{STEP1}").click()
        checked = page.get_by_test_id(f"badge-{STEP1}").get_by_test_id("checked-at")
        expect(checked).not_to_contain_text("UTC")
        when = datetime.fromisoformat(checked.get_attribute("datetime")).astimezone(ZoneInfo("Pacific/Auckland"))
        local = re.compile(rf"^0?{when.hour}:{when:%M:%S}$")  # the browser's own format for en-GB
        expect(checked).to_have_text(local)
        assert checked.get_attribute("data-utc") == f"{when.astimezone(UTC):%H:%M:%S} UTC"
        history = page.get_by_test_id(f"history-{STEP1}")
        history.locator("summary").click()
        expect(history.locator("time").first).to_have_text(local)
        page.reload()
        expect(page.get_by_test_id(f"badge-{STEP1}").get_by_test_id("checked-at")).to_have_text(local)
    finally:
        context.close()
