"""Browser fixtures: one ``labgrader demo`` (azuresim, the app on SQLite, a seeded class of three) served
on a free port for the whole session, and Debian's Chromium driven by Playwright's sync API.

Without /usr/bin/chromium the tests skip (and fail under CI=true): ``make browser`` installs it.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.conftest import require
from webapp import demo as demo_mod
from webapp.services import jobs

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync"]
TIMEOUT_MS = 15_000  # the longest a page should take to show a result; a proctor grid polls every 5 s


@dataclass
class Site:
    demo: demo_mod.Demo
    app: object

    @property
    def class_url(self) -> str:
        return f"{self.demo.base_url}/proctor/labs/{demo_mod.LAB}/classes/{demo_mod.CLASS}"


@pytest.fixture(scope="session")
def site(tmp_path_factory) -> Iterator[Site]:
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LABGRADER_")]:
            mp.delenv(key)  # the developer's shell configuration must not change the demo
        folder = tmp_path_factory.mktemp("browser") / "demo"
        demo, server, sim, seeding = demo_mod.start(folder, "127.0.0.1", 0, 3, training_seconds=0.3,
                                                    provisioning_seconds=0.2)
    serving = threading.Thread(target=server.serve_forever, name="demo-http", daemon=True)
    serving.start()
    try:
        # A fully seeded class keeps the tests deterministic (and the CPU free for the browser).
        seeding.join(90)
        assert not seeding.is_alive(), "seeding the demo class did not finish in 90 s"
        yield Site(demo, server.app)
    finally:
        server.shutdown()
        server.server_close()
        jobs.shutdown(server.app)
        sim.stop()


# Module scope: Playwright's sync API allows one running instance per thread, and other test packages
# (tests/labguide) start their own.
@pytest.fixture(scope="module")
def browser():
    require(os.access(CHROMIUM, os.X_OK), f"{CHROMIUM} is not installed (make browser)")
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=TIMEOUT_MS)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser):
    """``new_page()``: a page in a fresh browser context (its own cookies: one person each)."""
    contexts = []

    def make():
        context = browser.new_context()
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in_proctor(page, site: Site) -> None:
    page.goto(f"{site.demo.base_url}/proctor/login")
    page.get_by_label("Email").fill(site.demo.proctor_email)
    page.get_by_label("Password").fill(site.demo.proctor_password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/proctor/login" not in url)
