"""An LTI launch in Chromium, inside the iframe of an LMS course page on another site: the platform (the
``lti1p3platform`` library, tests/webapp/lti_platform.py) at http://127.0.0.1, labgrader over HTTPS at
https://localhost (a trustme certificate Chromium is told to accept by its key's hash). The redirect chain
runs in the frame (OIDC login, the cookie check, the platform's authorization, the auto-posted launch), the
guide opens there with its session cookie (SameSite=None; Secure; Partitioned), and Validate works in it.
Where the frame keeps no cookie (labgrader over plain HTTP here), the cookie check offers a new window, and
the lab opens there."""

from __future__ import annotations

import base64
import hashlib
import os
import ssl
import threading

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from werkzeug.serving import make_server

from azuresim.student import Student
from tests.browser.conftest import ARGS, CHROMIUM, TIMEOUT_MS
from tests.conftest import require
from tests.webapp.lti_platform import INSTRUCTOR, LEARNER, LaunchSpec, Platform
from webapp import create_app
from webapp.extensions import db
from webapp.services import attendees, jobs

pytestmark = pytest.mark.browser
LAB = "spot-the-flaw"
STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"


@pytest.fixture(scope="module")
def tls(tmp_path_factory):
    ca = trustme.CA(organization_name="labgrader LTI test CA")
    cert = ca.issue_cert("localhost", "127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    leaf = x509.load_pem_x509_certificate(cert.cert_chain_pems[0].bytes())
    spki = leaf.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return ctx, base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="module")
def tool(tmp_path_factory, tls):
    folder = tmp_path_factory.mktemp("lti-browser")
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LABGRADER_")]:
            mp.delenv(key)
        app = create_app({"INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "lti-browser-test-secret-0123456789",
                          "DATABASE_URL": f"sqlite:///{folder / 'lg.sqlite3'}", "AUTO_MIGRATE": True,
                          "ALLOW_CUSTOM_CLOUD": True})
    server = make_server("localhost", 0, app, threaded=True, ssl_context=tls[0])
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["TOOL_URL"] = f"https://localhost:{server.server_port}"
    yield app
    server.shutdown()
    server.server_close()
    jobs.shutdown(app)
    with app.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def chromium(tls):
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is not installed (make browser)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[*ARGS, f"--ignore-certificate-errors-spki-list={tls[1]}"])
        yield b
        b.close()


@pytest.fixture
def lms(tool):
    from webapp.lti import platforms

    made = Platform(tool.config["TOOL_URL"])
    with tool.app_context():
        platforms.add(f"LMS {made.url}", **made.registration_fields())
    yield made
    made.close()


def test_launch_in_an_lms_iframe_opens_the_guide_and_validate_works(tool, lms, chromium, attendee):
    from playwright.sync_api import expect

    with tool.app_context():
        attendees.upsert(LAB, "ada", cohort="Monday", display_name="Ada L.", azure=attendee)
    Student(attendee).do("1")
    lms.login_url(LaunchSpec(user_id="u-ada", roles=[LEARNER], custom={"lab": LAB, "attendee": "ada"}))
    context = chromium.new_context()
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    page.goto(f"{lms.url}/course/{lms.last_hint}")
    frame = page.frame_locator("iframe")
    button = frame.get_by_test_id(f"validate-{STEP1}")
    expect(button).to_be_visible()
    assert page.url.startswith(lms.url)  # the course page stays; the lab is in its frame
    button.click()
    expect(frame.get_by_test_id(f"badge-{STEP1}").get_by_test_id("status")).to_have_text("PASS")
    cookie = next(c for c in context.cookies() if c["name"] == "session")
    assert cookie["sameSite"] == "None" and cookie["secure"] and cookie["domain"] == "localhost"
    context.close()


def test_instructor_lands_on_the_grid_in_the_iframe(tool, lms, chromium):
    from playwright.sync_api import expect

    lms.login_url(LaunchSpec(user_id="u-teacher", roles=[INSTRUCTOR], custom={"lab": LAB, "class": "Monday"}))
    context = chromium.new_context()
    page = context.new_page()
    page.goto(f"{lms.url}/course/{lms.last_hint}")
    expect(page.frame_locator("iframe").get_by_role("heading", name="Monday")).to_be_visible()
    context.close()


@pytest.fixture(scope="module")
def plain_tool(tmp_path_factory):
    """labgrader over plain HTTP: in a cross-site frame the browser keeps none of its cookies (no
    SameSite=None without Secure), as a browser blocking third-party cookies would."""
    folder = tmp_path_factory.mktemp("lti-browser-http")
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LABGRADER_")]:
            mp.delenv(key)
        app = create_app({"INSTANCE_PATH": str(folder / "instance"), "SECRET_KEY": "lti-browser-http-secret-0123456789",
                          "DATABASE_URL": f"sqlite:///{folder / 'lg.sqlite3'}", "AUTO_MIGRATE": True,
                          "ALLOW_CUSTOM_CLOUD": True})
    server = make_server("localhost", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.config["TOOL_URL"] = f"http://localhost:{server.server_port}"
    yield app
    server.shutdown()
    server.server_close()
    jobs.shutdown(app)
    with app.app_context():
        db.engine.dispose()


def test_where_the_frame_keeps_no_cookie_the_lab_opens_in_a_new_window(plain_tool, chromium, attendee):
    from playwright.sync_api import expect

    from webapp.lti import platforms

    lms = Platform(plain_tool.config["TOOL_URL"])
    try:
        with plain_tool.app_context():
            platforms.add("LMS", **lms.registration_fields())
            attendees.upsert(LAB, "ada", cohort="Monday", azure=attendee)
        lms.login_url(LaunchSpec(user_id="u-ada", roles=[LEARNER], custom={"lab": LAB, "attendee": "ada"}))
        context = chromium.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        page.goto(f"{lms.url}/course/{lms.last_hint}")
        link = page.frame_locator("iframe").get_by_test_id("lti-new-window")
        expect(link).to_be_visible()  # the cookie check failed in the frame: it offers a window instead
        with context.expect_page() as opened:
            link.click()
        window = opened.value
        expect(window.get_by_test_id(f"validate-{STEP1}")).to_be_visible()
        assert window.url == plain_tool.config["TOOL_URL"] + "/lab"
        context.close()
    finally:
        lms.close()
