"""Several instances, as deployed: two ``labgrader serve`` (gunicorn) and one ``labgrader worker`` on one
PostgreSQL and one Redis, all on loopback, grading attendees of the in-process azuresim.

A sign-in on one instance holds on the other, and signing out on either ends it on both; a launch link made by
one opens on the other; a Validate press and the Validate rate limit count the same wherever they land; the
worker runs a proctor's "re-validate all"; killing one instance mid-burst loses no write it acknowledged.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from urllib.parse import urlsplit

import pytest
import requests
import sqlalchemy as sa

from tests.conftest import redis_url, require
from webapp.extensions import db
from webapp.models import Attempt
from webapp.services import apikeys, attendees, labs, proctors

from .conftest import TEST_SECRET_KEY
from .servers import Process, clean_env, serve, start

pytestmark = pytest.mark.slow

LAB = "spot-the-flaw"
STEP1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
PASSWORD = "proctor-password-123"
REDIS_URL = redis_url(14)


@pytest.fixture
def db_url(fresh_pg_url):
    """PostgreSQL only: SQLite is one machine's file, not a database several instances share."""
    return fresh_pg_url


@pytest.fixture
def fresh_pg_url():
    from .conftest import PG_URL, _pg_error, schema_url

    error = _pg_error()
    require(error is None, error or "")
    import psycopg

    schema, plain = f"lg_inst_{secrets.token_hex(4)}", PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema_url(PG_URL, schema)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture
def redis_db():
    import socket

    with socket.socket() as s:
        s.settimeout(1)
        require(s.connect_ex(("127.0.0.1", 6379)) == 0, "Redis is not reachable at 127.0.0.1:6379")
    import redis

    conn = redis.Redis.from_url(REDIS_URL)
    conn.flushdb()
    yield conn
    conn.flushdb()
    conn.close()


@pytest.fixture
def deployment(app, db_url, redis_db, tmp_path, sim):
    """(instance A, instance B, worker, API headers): the schema is migrated by ``app`` (this process), which
    the test also uses to read the shared database."""
    with app.app_context():
        key = apikeys.create("platform")[1]
        proctors.add("pat@example.com", PASSWORD, is_admin=True)
    env = clean_env(DATABASE_URL=db_url, SECRET_KEY=TEST_SECRET_KEY, REDIS_URL=REDIS_URL, ALLOW_CUSTOM_CLOUD="true",
                    VALIDATE_RATE_LIMIT="2 per minute", VALIDATE_BUDGET_SECONDS="10")
    running: list[Process] = []
    try:
        running.append(serve(env, tmp_path, "instance-a"))
        running.append(serve(env, tmp_path, "instance-b"))
        running.append(start(["worker", "--name", f"w-{secrets.token_hex(3)}"], env, tmp_path, "worker"))
        yield running[0], running[1], running[2], {"Authorization": f"Bearer {key}"}
    finally:
        for process in running:
            process.stop()


def csrf_of(html: str) -> str:
    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m, html[:300]
    return m.group(1)


def put_attendee(base: str, auth: dict, name: str, azure: dict, **extra) -> requests.Response:
    return requests.put(f"{base}/api/v1/labs/{LAB}/attendees/{name}", json={"azure": azure, **extra}, headers=auth,
                        timeout=10)


def wait_for(condition, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.25)


def test_two_instances_and_a_worker_share_everything(app, deployment, sim):
    a, b, worker, auth = deployment
    creds = sim.create_attendee("instances-ada")
    azure = {k: v for k, v in creds.items() if k != "injects"}

    # A launch link made by A opens on B; a Validate press on B counts where A sees it.
    made = put_attendee(a.url, auth, "ada", azure, injects=creds["injects"], **{"class": "Monday"})
    assert made.status_code == 201, made.text
    student = requests.Session()
    opened = student.get(b.url + urlsplit(made.json()["launch_url"]).path, allow_redirects=False, timeout=10)
    assert opened.status_code == 303
    token = csrf_of(student.get(f"{a.url}/lab", timeout=10).text)  # the session opened on B holds on A
    pressed = student.post(f"{b.url}/lab/steps/{STEP1}/validate", headers={"X-CSRFToken": token,
                                                                          "HX-Request": "true"}, timeout=30)
    assert pressed.status_code == 200 and 'data-status="FAIL"' in pressed.text, pressed.text[:500]
    progress = requests.get(f"{a.url}/api/v1/labs/{LAB}/attendees/ada/progress", headers=auth, timeout=10).json()
    assert progress["steps"][STEP1]["attempts"] == 1

    # The Validate limit (2 per minute per key, attendee and step) is counted in Redis, whichever instance.
    codes = [requests.post(f"{base}/api/v1/labs/{LAB}/attendees/ada/validations", json={"step": "1"},
                           headers=auth, timeout=30).status_code for base in (a.url, b.url, a.url)]
    assert codes == [200, 200, 429]

    # A proctor signs in on A and is signed in on B; "re-validate all" from B runs in the worker.
    proctor = requests.Session()
    token = csrf_of(proctor.get(f"{a.url}/proctor/login", timeout=10).text)
    signed_in = proctor.post(f"{a.url}/proctor/login", data={"email": "pat@example.com", "password": PASSWORD,
                                                              "csrf_token": token}, allow_redirects=False, timeout=10)
    assert signed_in.status_code == 303
    with app.app_context():
        ada_id = attendees.get(LAB, "ada").id
        steps = len(labs.pack(LAB).steps)
    page = proctor.get(f"{b.url}/proctor/attendees/{ada_id}", timeout=10)
    assert page.status_code == 200 and "ada" in page.text
    queued = proctor.post(f"{b.url}/proctor/attendees/{ada_id}/revalidate", allow_redirects=False, timeout=10,
                          data={"step": "all", "csrf_token": csrf_of(page.text)})
    assert queued.status_code == 303

    def by_worker() -> int:
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Attempt).filter_by(
                attendee_id=ada_id, trigger="proctor")) or 0

    wait_for(lambda: by_worker() == steps, 90, f"the worker to validate {steps} steps")
    assert "revalidate_all" in worker.output() and "revalidate_all" not in a.output() + b.output()

    # Signing out on B ends the session on A too.
    token = csrf_of(proctor.get(f"{b.url}/proctor/", timeout=10).text)
    assert proctor.post(f"{b.url}/proctor/logout", data={"csrf_token": token}, allow_redirects=False,
                        timeout=10).status_code == 303
    assert proctor.get(f"{a.url}/proctor/", allow_redirects=False, timeout=10).status_code == 302


def test_killing_one_instance_mid_burst_loses_nothing_it_acknowledged(app, deployment, sim):
    a, b, _worker, auth = deployment
    azure = {"subscription_id": "00000000-0000-0000-0000-00000000000a", "resource_group": "rg-burst"}
    acknowledged: list[str] = []
    refused: list[str] = []
    stop = threading.Event()

    def burst() -> None:
        for i in range(400):  # bounded in count and in time
            if stop.is_set():
                break
            name = f"burst-{i}"
            try:
                r = put_attendee(a.url, auth, name, azure, display_name=f"Burst {i}")
            except requests.RequestException:
                refused.append(name)  # the instance is gone: not acknowledged, and that is allowed
                continue
            (acknowledged if r.status_code == 201 else refused).append(name)

    sender = threading.Thread(target=burst)
    sender.start()
    try:
        wait_for(lambda: len(acknowledged) >= 10, 30, "A to acknowledge writes")
        a.kill()  # SIGKILL to gunicorn and its workers at once, mid-burst
        wait_for(lambda: len(refused) >= 3, 30, "requests to A to fail")
    finally:
        stop.set()
        sender.join(30)
    assert not a.alive() and not sender.is_alive()
    assert acknowledged, "A acknowledged nothing before it died"
    for name in acknowledged:  # B serves every write A acknowledged
        got = requests.get(f"{b.url}/api/v1/labs/{LAB}/attendees/{name}", headers=auth, timeout=10)
        assert got.status_code == 200 and got.json()["display_name"] == f"Burst {name.split('-')[1]}", name
    assert requests.get(f"{b.url}/readyz", timeout=10).status_code == 200
