"""`labgrader demo`: start() on a temporary folder seeds a class the proctor can watch, the student's launch
link opens their guide, and the command prints the URLs a newcomer needs, then stops on Ctrl-C."""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from webapp import demo as demo_mod
from webapp.services import jobs

ATTENDEES = 6  # you, two who got far, three who picked Multilabel in Task 2 (a common failure reason)


# `labgrader demo` end to end (it seeds a class in each lab): `make test-slow` (and CI) runs it.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def running(tmp_path_factory, clean_env_module):
    folder = tmp_path_factory.mktemp("demo") / "run"
    demo, server, sim, seeding = demo_mod.start(folder, "127.0.0.1", 0, ATTENDEES, training_seconds=0.2,
                                                    provisioning_seconds=0.2)
    serving = threading.Thread(target=server.serve_forever, name="demo-http", daemon=True)
    serving.start()
    try:
        yield demo, server, seeding, folder
    finally:
        server.shutdown()
        server.server_close()
        demo.stop_seeding.set()
        seeding.join(60)
        jobs.shutdown(server.app)
        sim.stop()


@pytest.fixture(scope="module")
def clean_env_module():
    """No LABGRADER_* variable of the developer's shell changes the demo."""
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("LABGRADER_")]:
            mp.delenv(key)
        yield


@pytest.fixture(scope="module")
def seeded(running):
    demo, server, seeding, folder = running
    started = time.monotonic()
    seeding.join(240)  # two classes (one per lab); generous: the test machine may be loaded
    assert not seeding.is_alive(), "seeding the classes did not finish in 240 s"
    return demo, time.monotonic() - started


def proctor_session(demo) -> requests.Session:
    s = requests.Session()
    page = s.get(f"{demo.base_url}/proctor/login", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    signed_in = s.post(f"{demo.base_url}/proctor/login", timeout=10,
                       data={"email": demo.proctor_email, "password": demo.proctor_password, "csrf_token": token})
    assert signed_in.status_code == 200 and "Sign in" not in signed_in.text.split("<main", 1)[1][:400]
    return s


def test_everything_lives_in_the_demo_folder(running):
    demo, _, _, folder = running
    assert (folder / "labgrader.db").is_file() and (folder / "azuresim").is_dir()
    assert demo.base_url.startswith("http://127.0.0.1:") and not demo.base_url.endswith(":0")
    assert demo.student_link.startswith(f"{demo.base_url}/launch/")


def test_the_proctor_sees_a_class_at_different_steps_with_a_common_failure(seeded):
    demo, _ = seeded
    s = proctor_session(demo)
    html = s.get(f"{demo.base_url}/proctor/labs/{demo_mod.LAB}/classes/{demo_mod.CLASS}", timeout=10).text
    done = dict(re.findall(r'data-testid="row-([a-z]+)".*?<td>(\d+)/\d+</td>', html, re.S))
    assert set(done) == {"you", "ada", "grace", "alan", "katherine", "edsger"}
    assert done["you"] == "0" and done["ada"] == "8" and done["grace"] == "5" and done["alan"] == "1"
    cells = dict(re.findall(r'data-testid="cell-([a-z]+-[\d.]+)" data-status="([A-Z_]+)"', html))
    assert cells["you-1"] == "NOT_STARTED" and cells["ada-6"] == "PASS"
    assert cells["grace-5.1"] == "FAIL" and cells["alan-2"] == "FAIL"
    reasons = re.search(r'data-testid="reasons-2".*?</section>', html, re.S).group(0)
    assert re.search(r"<strong>3 attendees:</strong>[^<]*Multilabel", reasons), reasons


def test_the_second_labs_class_is_seeded_with_its_own_mistakes(seeded):
    demo, _ = seeded
    s = proctor_session(demo)
    html = s.get(f"{demo.base_url}/proctor/labs/{demo_mod.DETECTION_LAB}/classes/{demo_mod.DETECTION_CLASS}",
                  timeout=10).text
    done = dict(re.findall(r'data-testid="row-([a-z]+)".*?<td>(\d+)/\d+</td>', html, re.S))
    assert set(done) == {"mary", "dorothy", "jean", "kathleen", "lynn", "evelyn"}
    assert done["mary"] == "6" and done["dorothy"] == "4" and done["jean"] == "1"
    cells = dict(re.findall(r'data-testid="cell-([a-z]+-[\d.]+)" data-status="([A-Z_]+)"', html))
    assert cells["jean-2"] == "FAIL" and cells["kathleen-3"] == "FAIL" and cells["lynn-3"] == "FAIL"
    assert cells["evelyn-5"] == "FAIL" and cells["mary-5"] == "PASS"  # boxes far off the defect
    reasons = re.search(r'data-testid="reasons-3".*?</section>', html, re.S).group(0)
    # Too few regions, regions tagged 'Casting', and a Classification project (validated at its next task).
    assert re.search(r'data-check="region_image_count"><strong>3 attendees:</strong>', reasons), reasons


def test_the_proctor_login_is_required_and_checked(running):
    demo = running[0]
    s = requests.Session()
    grid = s.get(f"{demo.base_url}/proctor/labs/{demo_mod.LAB}/classes/{demo_mod.CLASS}", timeout=10)
    assert grid.url.startswith(f"{demo.base_url}/proctor/login")  # redirected to sign in
    token = re.search(r'name="csrf_token" value="([^"]+)"', grid.text).group(1)
    wrong = s.post(f"{demo.base_url}/proctor/login", timeout=10,
                   data={"email": demo.proctor_email, "password": "not-the-password", "csrf_token": token})
    assert 'data-testid="login-error"' in wrong.text


def test_the_student_link_opens_the_guide_with_the_practice_panel(running):
    demo = running[0]
    page = requests.get(demo.student_link, timeout=10)
    assert page.status_code == 200 and page.url == f"{demo.base_url}/lab"
    assert 'data-testid="guide"' in page.text and 'data-testid="attendee-name">You (demo student)' in page.text
    assert 'data-testid="practice-panel"' in page.text


def test_the_api_docs_are_served(running):
    demo = running[0]
    docs = requests.get(f"{demo.base_url}/api/v1/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    labs = requests.get(f"{demo.base_url}/api/v1/labs", headers={"Authorization": f"Bearer {demo.api_key}"},
                        timeout=10)
    assert labs.status_code == 200 and demo_mod.LAB in labs.text


def test_the_command_prints_what_a_newcomer_needs_and_stops_on_ctrl_c(tmp_path):
    script = Path(sys.executable).with_name("labgrader")
    cmd = [str(script), "demo", "--port", "0", "--attendees", "3", "--dir", str(tmp_path / "demo")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in proc.stdout], daemon=True).start()
    out, deadline = "", time.monotonic() + 30
    try:
        while "being seeded" not in out and time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(queue.Empty):
                out += lines.get(timeout=0.5)
        base = re.search(r"Proctor dashboard: (http://127\.0\.0\.1:(\d+))/proctor\n", out)
        assert base, out
        # The printed address answers (a newcomer opens it before pressing Ctrl-C).
        assert requests.get(f"{base.group(1)}/readyz", timeout=10).status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise
        finally:
            errors = proc.stderr.read()
            proc.stdout.close()
            proc.stderr.close()
    assert base.group(2) != "0"
    assert re.search(rf"Student \(you\): +{re.escape(base.group(1))}/launch/\S+\n", out)
    assert re.search(r"sign in as proctor@demo\.labgrader\.local / \S+\n", out)
    assert f"Platform API docs: {base.group(1)}/api/v1/docs\n" in out
    assert "API key: lg_" in out and "Practice panel" in out
    assert code == 0, errors[-3000:]
    assert "Traceback" not in errors, errors[-3000:]  # Ctrl-C stops the seeding quietly


def test_the_demo_sends_webhook_retries_and_schedules_automatic_checks(running):
    _, server, _, _ = running
    assert server.app.extensions["labgrader.webhook_sweeper"][0].is_alive()
    assert server.app.extensions["labgrader.autocheck_scheduler"][0].is_alive()
