"""Security and operations of the web service: lab ids only ever name configured packs, the platform
API's Validate rate limit, proxies, concurrent auto-migration, tokens kept out of the access log,
revocation from the command line."""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from labguide.packs import BUILTIN_DIR
from tests.conftest import require
from webapp.services import apikeys, labs
from webapp.services.errors import NotFound

LAB = "spot-the-flaw"


@pytest.fixture
def db_url(tmp_path):
    """These tests are about the HTTP and process surface: SQLite is enough unless a test says otherwise."""
    return f"sqlite:///{tmp_path / 'labgrader.sqlite3'}"


@pytest.fixture
def auth(app) -> dict:
    return {"Authorization": f"Bearer {apikeys.create('platform')[1]}"}


# -- lab ids name configured packs only -------------------------------------------------------------------


@pytest.fixture
def cwd_with_secrets(tmp_path, monkeypatch) -> Path:
    """A working directory like a deployment's: a .env, a Makefile, and a folder that looks like a pack."""
    work = tmp_path / "work"
    work.mkdir()
    (work / ".env").write_text("LABGRADER_SECRET_KEY=do-not-show-me\n")
    (work / "Makefile").write_text("deploy:\n\techo do-not-show-me\n")
    shutil.copytree(BUILTIN_DIR / LAB, work / "evil")
    (work / "evil" / "lab.yaml").write_text((work / "evil" / "lab.yaml").read_text().replace(LAB, "evil"))
    monkeypatch.chdir(work)
    return work


@pytest.mark.parametrize("name", [".env", "../x", "Makefile", "evil", "./evil", "/etc/passwd", "EVIL", "a" * 101,
                                  "spot-the-flaw/", "spot-the-flaw\n", ""])
def test_lab_ids_outside_the_pack_folders_are_not_found(app, cwd_with_secrets, name):
    with pytest.raises(NotFound):
        labs.pack(name)


@pytest.mark.parametrize("name", [".env", "Makefile", "evil", "..%2Fx", "%2E%2E", "%2Eenv"])
def test_api_refuses_files_of_the_working_directory(client, auth, cwd_with_secrets, name):
    for method, path, body in [("PUT", f"/api/v1/labs/{name}/attendees/x", {"display_name": "x"}),
                               ("GET", f"/api/v1/labs/{name}", None),
                               ("GET", f"/api/v1/labs/{name}/progress", None)]:
        r = client.open(path, method=method, json=body, headers=auth)
        assert r.status_code == 404, (path, r.get_data(as_text=True))
        assert "do-not-show-me" not in r.get_data(as_text=True)
    listed = client.get("/api/v1/labs", headers=auth).get_json()
    assert [lab["id"] for lab in listed["labs"]] == ["find-the-flaw", LAB]


def test_packs_come_from_the_app_config_not_the_environment(make_app, db_url, tmp_path, monkeypatch):
    configured, env_only = tmp_path / "configured", tmp_path / "env-only"
    for folder, pack_id in ((configured, "from-config"), (env_only, "from-env")):
        shutil.copytree(BUILTIN_DIR / LAB, folder / pack_id)
        yaml_path = folder / pack_id / "lab.yaml"
        yaml_path.write_text(yaml_path.read_text().replace(LAB, pack_id))
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, PACK_DIRS=[str(configured)])
    monkeypatch.setenv("LABGRADER_PACK_DIRS", str(env_only))  # read by labguide's CLI, not by this app
    with app.app_context():
        assert labs.pack("from-config").root == configured / "from-config"
        assert [p.id for p in labs.packs()] == ["find-the-flaw", "from-config", LAB]
        with pytest.raises(NotFound):
            labs.pack("from-env")


def test_the_index_loads_once_and_rescans_only_for_a_new_pack_folder(make_app, db_url, tmp_path, monkeypatch):
    import labguide.packs

    folder = tmp_path / "packs"
    folder.mkdir()
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, PACK_DIRS=[str(folder)])
    loads = []
    real = labguide.packs.load_pack
    monkeypatch.setattr(labguide.packs, "load_pack", lambda *a, **k: loads.append(a) or real(*a, **k))
    builtin = len(list(BUILTIN_DIR.glob("*/lab.yaml")))  # one load per pack in a scan
    with app.app_context():
        labs.pack(LAB)
        assert len(loads) == builtin
        for _ in range(3):
            labs.packs()
            labs.pack(LAB)
            with pytest.raises(NotFound):
                labs.pack("no-such-lab")
        assert len(loads) == builtin  # neither listing nor unknown ids reload from disk
        # A pack installed while running is found by its folder name, without a restart.
        shutil.copytree(BUILTIN_DIR / LAB, folder / "newer")
        (folder / "newer" / "lab.yaml").write_text((folder / "newer" / "lab.yaml").read_text().replace(LAB, "newer"))
        monkeypatch.setattr(labs, "RESCAN_SECONDS", 0.0)
        assert labs.pack("newer").id == "newer"
        assert len(loads) == 2 * builtin + 1  # one rescan: every pack again, and the new one


def test_a_broken_pack_does_not_hide_the_others(make_app, db_url, tmp_path):
    folder = tmp_path / "packs"
    (folder / "broken").mkdir(parents=True)
    (folder / "broken" / "lab.yaml").write_text("id: broken\nsteps: [\n")
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, PACK_DIRS=[str(folder)])
    with app.app_context():
        assert [p.id for p in labs.packs()] == sorted(p.parent.name for p in BUILTIN_DIR.glob("*/lab.yaml"))
        with pytest.raises(NotFound):
            labs.pack("broken")


# -- the platform API's Validate limit is in test_api_errors.py; proxies ----------------------------------


def _whoami_app(make_app, db_url, **config):
    app = make_app(DATABASE_URL=db_url, AUTO_MIGRATE=True, **config)

    @app.get("/_whoami")
    def whoami():
        from flask import request

        return {"addr": request.remote_addr, "scheme": request.scheme, "host": request.host}

    return app


FORWARDED = {"X-Forwarded-For": "203.0.113.9, 198.51.100.7", "X-Forwarded-Proto": "https",
             "X-Forwarded-Host": "labs.example.com"}


def test_behind_one_proxy_the_client_address_is_the_forwarded_one(make_app, db_url):
    client = _whoami_app(make_app, db_url, TRUSTED_PROXIES=1).test_client()
    seen = client.get("/_whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}).json
    # One trusted hop: the last X-Forwarded-For entry is what our proxy saw; earlier ones are the client's claim.
    assert seen == {"addr": "198.51.100.7", "scheme": "https", "host": "labs.example.com"}


def test_without_trusted_proxies_forwarded_headers_are_ignored(make_app, db_url):
    client = _whoami_app(make_app, db_url).test_client()
    seen = client.get("/_whoami", headers=FORWARDED, environ_base={"REMOTE_ADDR": "10.0.0.2"}).json
    assert seen == {"addr": "10.0.0.2", "scheme": "http", "host": "localhost"}


def test_trusted_proxies_must_be_a_count(make_app, db_url):
    from webapp.config import ConfigError

    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app(DATABASE_URL=db_url, TRUSTED_PROXIES="-1")


# -- AUTO_MIGRATE: processes starting together on a fresh database --------------------------------------

MIGRATE_SCRIPT = """
import sys
from webapp import create_app
from webapp.extensions import db
print("ready", flush=True)
sys.stdin.readline()  # start together
app = create_app({"DATABASE_URL": sys.argv[1], "INSTANCE_PATH": sys.argv[2], "AUTO_MIGRATE": True,
                  "SECRET_KEY": "test-secret-key-not-for-production-0123456789"})
with app.app_context():
    db.engine.dispose()
print("migrated", flush=True)
"""


def _migrating(url: str, instance: Path) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}
    proc = subprocess.Popen([sys.executable, "-c", MIGRATE_SCRIPT, url, str(instance)], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout.readline().strip() == "ready"
    return proc


def _heads_of(make_app, url: str, tmp_path: Path) -> tuple[set, set]:
    from webapp import schema_revisions

    app = make_app(DATABASE_URL=url, check_schema=False, INSTANCE_PATH=str(tmp_path / "checker"))
    with app.app_context():
        return schema_revisions()


@pytest.fixture
def fresh_pg_url():
    """A URL on an empty PostgreSQL schema of its own (dropped after)."""
    from .conftest import PG_URL, _pg_error, schema_url

    error = _pg_error()
    require(error is None, error or "")
    import psycopg

    schema, plain = f"lg_mig_{secrets.token_hex(4)}", PG_URL.replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    yield schema_url(PG_URL, schema)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"])
def fresh_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    return request.getfixturevalue("fresh_pg_url")


def test_processes_starting_together_migrate_once(make_app, fresh_url, tmp_path):
    procs = [_migrating(fresh_url, tmp_path / "instance") for _ in range(3)]
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outputs = [proc.communicate(timeout=120)[0] for proc in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], outputs
    current, heads = _heads_of(make_app, fresh_url, tmp_path)
    assert current == heads


@contextmanager
def _held_lock(url: str, instance: Path):
    """The lock a migrating process takes, held by this test."""
    if url.startswith("sqlite"):
        import fcntl

        instance.mkdir(parents=True, exist_ok=True)
        with (instance / "migrate.lock").open("a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield
        return
    import psycopg

    from webapp import PG_MIGRATION_LOCK

    with psycopg.connect(url.replace("+psycopg", "").split("?")[0], autocommit=True) as conn:
        conn.execute(f"SELECT pg_advisory_lock({PG_MIGRATION_LOCK})")
        yield
        conn.execute(f"SELECT pg_advisory_unlock({PG_MIGRATION_LOCK})")


def test_a_migrating_process_waits_for_the_lock(make_app, fresh_url, tmp_path):
    instance = tmp_path / "instance"
    with _held_lock(fresh_url, instance):
        proc = _migrating(fresh_url, instance)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        time.sleep(3)  # long enough to import, connect and migrate (about 1 s) if it did not wait
        assert proc.poll() is None, proc.stdout.read()
        assert _heads_of(make_app, fresh_url, tmp_path)[0] == set()  # nothing applied while the lock is held
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0 and "migrated" in out, out
    current, heads = _heads_of(make_app, fresh_url, tmp_path)
    assert current == heads


# -- launch tokens stay out of the access log ---------------------------------------------------------------

TOKEN = "eyJhIjoxLCJ2IjowfQ.ZxYw1A.k3yS1gnatureXYZ_-0123"


@pytest.mark.parametrize(("line", "expected"), [
    (f"GET /launch/{TOKEN} HTTP/1.1", "GET /launch/*** HTTP/1.1"),
    (f"GET /launch/{TOKEN}?x=1 HTTP/1.1", "GET /launch/***?x=1 HTTP/1.1"),
    (f"GET /launch%2F{TOKEN} HTTP/1.1", "GET /launch%2F*** HTTP/1.1"),
    (f"GET /lab?token={TOKEN}&step=1 HTTP/1.1", "GET /lab?token=***&step=1 HTTP/1.1"),
    (f"token={TOKEN}", "token=***"),
    (f"https://labs.example.com/launch/{TOKEN}", "https://labs.example.com/launch/***"),
    ("GET /lab/steps/1/validate HTTP/1.1", "GET /lab/steps/1/validate HTTP/1.1"),
    ("GET /launch/ HTTP/1.1", "GET /launch/ HTTP/1.1"),
    ("GET /api/v1/labs?mytoken=keep HTTP/1.1", "GET /api/v1/labs?mytoken=keep HTTP/1.1"),
])
def test_redact(line, expected):
    from webapp.accesslog import redact

    assert redact(line) == expected


def test_access_log_atoms_carry_no_token():
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from webapp.accesslog import RedactingLogger

    cfg = Config()
    logger = RedactingLogger(cfg)
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": f"/launch/{TOKEN}?token={TOKEN}",
               "PATH_INFO": f"/launch/{TOKEN}", "QUERY_STRING": f"token={TOKEN}", "SERVER_PROTOCOL": "HTTP/1.1",
               "REMOTE_ADDR": "203.0.113.9", "HTTP_REFERER": f"https://labs.example.com/launch/{TOKEN}"}
    req = SimpleNamespace(headers=[("REFERER", f"https://labs.example.com/launch/{TOKEN}"), ("HOST", "x")])
    resp = SimpleNamespace(status="302 FOUND", sent=0, headers=[("Location", "/lab")])
    atoms = logger.atoms(resp, req, environ, timedelta(milliseconds=12))
    line = cfg.access_log_format % atoms
    assert TOKEN not in line and TOKEN not in repr(atoms)
    assert '"GET /launch/***?token=*** HTTP/1.1" 302' in line and atoms["h"] == "203.0.113.9"


def test_serve_logs_launch_requests_without_the_token(make_app, tmp_path):
    db_file = tmp_path / "served.sqlite3"
    make_app(DATABASE_URL=f"sqlite:///{db_file}", AUTO_MIGRATE=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}
    env.update(LABGRADER_DATABASE_URL=f"sqlite:///{db_file}", LABGRADER_SECRET_KEY="s" * 40)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", "serve", "--port", str(port), "--workers", "1",
                             "--threads", "2"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/launch/{TOKEN}?token={TOKEN}", timeout=2,
                                      allow_redirects=False)
                break
            except (requests.ConnectionError, requests.Timeout):  # gunicorn listens before its worker is ready
                assert proc.poll() is None and time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert answer.status_code in (200, 302, 303, 400, 401, 403, 404, 410)
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=30)
    assert "/launch/***?token=***" in out, out
    assert TOKEN not in out


# -- revoking from the command line -------------------------------------------------------------------------

PASSWORD = "correct horse battery staple"


def _csrf(html: str) -> str:
    import re

    m = re.search(r'<meta name="csrf-token" content="([^"]+)"', html)
    assert m
    return m.group(1)


def _sign_in(client, email: str = "pat@example.com", password: str = PASSWORD):
    token = _csrf(client.get("/proctor/login").get_data(as_text=True))
    return client.post("/proctor/login", data={"email": email, "password": password, "csrf_token": token})


def _signed_in(client) -> bool:
    return client.get("/proctor/").status_code == 200


@pytest.fixture
def pat(app):
    from webapp.services import proctors

    proctors.add("pat@example.com", PASSWORD)
    proctors.grant("pat@example.com", LAB, "Monday")
    return "pat@example.com"


def test_attendee_revoke_link(runner, app, sim):
    from webapp.cli import main
    from webapp.services import attendees, launch
    from webapp.services.errors import InvalidLink

    ada = attendees.upsert(LAB, "ada", azure=sim.create_attendee("ops-ada"))
    token = launch.make_token(ada)
    client = app.test_client()
    assert client.get(f"/launch/{token}").status_code in (200, 302, 303)
    assert client.get("/lab").status_code == 200
    done = runner.invoke(main, ["attendee", "revoke-link", LAB, "ada"])
    assert done.exit_code == 0, done.output
    assert "revoked" in done.output
    with pytest.raises(InvalidLink):
        launch.verify(token)
    assert client.get("/lab").status_code == 401  # the open session ended too
    assert launch.verify(launch.make_token(attendees.get(LAB, "ada"))).external_id == "ada"  # a new link works
    unknown = runner.invoke(main, ["attendee", "revoke-link", LAB, "zed"])
    assert unknown.exit_code == 1 and "zed" in unknown.output
    bad_lab = runner.invoke(main, ["attendee", "revoke-link", ".env", "ada"])
    assert bad_lab.exit_code == 1 and "no attendee 'ada' in lab '.env'" in bad_lab.output


def test_proctor_revoke(runner, pat):
    from webapp.cli import main
    from webapp.services import proctors

    client = runner.app.test_client()
    _sign_in(client)
    assert client.get(f"/proctor/labs/{LAB}/classes/Monday").status_code == 200
    done = runner.invoke(main, ["proctor", "revoke", pat, LAB, "Monday"])
    assert done.exit_code == 0 and "no longer sees class 'Monday'" in done.output
    assert proctors.get(pat).cohorts == []
    assert client.get(f"/proctor/labs/{LAB}/classes/Monday").status_code in (403, 404)
    again = runner.invoke(main, ["proctor", "revoke", pat, LAB, "Monday"])
    assert again.exit_code == 0 and "nothing to revoke" in again.output
    unknown = runner.invoke(main, ["proctor", "revoke", pat, LAB, "Sunday"])
    assert unknown.exit_code == 1 and "Sunday" in unknown.output
    nobody = runner.invoke(main, ["proctor", "revoke", "nobody@example.com", LAB, "Monday"])
    assert nobody.exit_code == 1 and "nobody@example.com" in nobody.output


def test_proctor_passwd_signs_out_every_session(runner, pat):
    from webapp.cli import main
    from webapp.services import proctors

    laptop, phone = runner.app.test_client(), runner.app.test_client()
    _sign_in(laptop), _sign_in(phone)
    assert _signed_in(laptop) and _signed_in(phone)
    short = runner.invoke(main, ["proctor", "passwd", pat, "--password-stdin"], input="short\n")
    assert short.exit_code == 1 and "at least" in short.output
    assert _signed_in(laptop)  # a refused change changes nothing
    done = runner.invoke(main, ["proctor", "passwd", pat, "--password-stdin"], input="a brand new passphrase\n")
    assert done.exit_code == 0 and "signed out" in done.output and "brand new" not in done.output
    assert not _signed_in(laptop) and not _signed_in(phone)
    assert proctors.authenticate(pat, PASSWORD) is None
    assert proctors.authenticate(pat, "a brand new passphrase") is not None
    _sign_in(laptop, password="a brand new passphrase")
    assert _signed_in(laptop)
    prompted = runner.invoke(main, ["proctor", "passwd", pat], input="third passphrase!\nthird passphrase!\n")
    assert prompted.exit_code == 0 and not _signed_in(laptop)
    nobody = runner.invoke(main, ["proctor", "passwd", "nobody@example.com", "--password-stdin"], input="x" * 12)
    assert nobody.exit_code == 1 and "no proctor" in nobody.output


def test_proctor_remove_ends_sessions_even_when_the_id_is_reused(runner, pat):
    from webapp.cli import main
    from webapp.services import proctors

    client = runner.app.test_client()
    _sign_in(client)
    assert _signed_in(client)
    old_id = proctors.get(pat).id
    done = runner.invoke(main, ["proctor", "remove", pat])
    assert done.exit_code == 0 and "Removed proctor" in done.output
    assert not _signed_in(client)
    assert pat not in runner.invoke(main, ["proctor", "list"]).output
    # SQLite hands the freed id to the next account: the old session must not open it.
    newcomer = proctors.add("new@example.com", PASSWORD)
    assert newcomer.id == old_id
    assert not _signed_in(client)
    missing = runner.invoke(main, ["proctor", "remove", pat])
    assert missing.exit_code == 1 and "no proctor" in missing.output


def test_show_encryption_key(runner, app):
    from webapp.cli import main

    shown = runner.invoke(main, ["config", "--show-encryption-key"])
    assert shown.exit_code == 0
    assert shown.stdout.strip() == app.config["ENCRYPTION_KEY"]
    assert "before changing SECRET_KEY" in shown.stderr
